//! Diagnostics: bad input is data. Every problem found while reading or
//! checking a CIB becomes one `Diagnostic` naming the file, line, element and
//! id, and saying what was expected.
//!
//! Invariant: diagnostics never carry the value of a secret parameter.

use super::xml::{LineIndex, Pos};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file (or other source) the CIB was read from.
    pub source: String,
    pub line: Option<u32>,
    /// The element the problem is in, e.g. `primitive`.
    pub element: Option<String>,
    pub id: Option<String>,
    pub message: String,
    #[serde(skip)]
    pub pos: Pos,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            source: String::new(),
            line: None,
            element: None,
            id: None,
            message: message.into(),
            pos: Pos::NONE,
        }
    }

    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub fn at(mut self, element: &str, id: Option<&str>, pos: Pos) -> Diagnostic {
        self.element = Some(element.to_string());
        self.id = id.filter(|s| !s.is_empty()).map(str::to_string);
        self.pos = pos;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Fills in the source name and line numbers.
    pub fn locate(mut self, source: &str, lines: &LineIndex) -> Diagnostic {
        self.source = source.to_string();
        if self.line.is_none() {
            self.line = lines.line(self.pos);
        }
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.source.is_empty() {
            write!(f, "{}", self.source)?;
            if let Some(l) = self.line {
                write!(f, ":{l}")?;
            }
            write!(f, ": ")?;
        }
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: ")?;
        match (&self.element, &self.id) {
            (Some(e), Some(id)) => write!(f, "{e} '{id}': ")?,
            (Some(e), None) => write!(f, "<{e}>: ")?,
            (None, Some(id)) => write!(f, "'{id}': ")?,
            (None, None) => {}
        }
        write!(f, "{}", self.message)
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_element_and_id() {
        let lines = LineIndex::new("<cib>\n<primitive id=\"x\"/>\n</cib>");
        let d = Diagnostic::error("unknown standard 'ocff'")
            .at("primitive", Some("x"), Pos(6))
            .locate("cib.xml", &lines);
        assert_eq!(
            d.to_string(),
            "cib.xml:2: error: primitive 'x': unknown standard 'ocff'"
        );
    }
}
