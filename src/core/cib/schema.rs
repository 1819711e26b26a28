//! Validation of a CIB document against warden's schema (`cib-schemas/`),
//! by a small RELAX NG interpreter.
//!
//! The schema files are embedded (`include_str!`) and compiled once. A
//! document is checked as a generic tree ([`xml::parse_element`]) so every
//! problem carries the position of the element it is about; each becomes a
//! [`Problem`] (then a [`Diagnostic`]) saying what was expected: `needs
//! attribute 'interval'`, `<resources>: unexpected element <foo>:
//! expected primitive, template, group, …`. After a problem the check goes
//! on (an unknown attribute or element is skipped, a bad value is taken as
//! read) so one run reports everything.
//!
//! The subset of RELAX NG understood (the schema must stay inside it; an
//! unknown construct is a compile error, caught by a unit test):
//!
//! * `grammar` with `start`, `define`, `include href` (of another embedded
//!   file, without overrides) and `div`;
//! * `element` and `attribute` with a `name` attribute, or a name class:
//!   `name`, `anyName` (optionally with `except` of names), `choice` of
//!   names;
//! * `group`, `interleave`, `choice`, `optional`, `zeroOrMore`, `oneOrMore`,
//!   `ref`, `empty`, `notAllowed`, `text`;
//! * `value` (type `token`, the default, or `string`) and `data` of the XML
//!   Schema types `string`, `token`, `integer`, `nonNegativeInteger`,
//!   `positiveInteger`, `boolean`, `NCName`, `ID`, `IDREF`, `IDREFS`
//!   (without parameters). IDs must be unique and every IDREF must name an
//!   ID, as `xmllint --relaxng` checks.
//!
//! Matching uses derivatives (James Clark's algorithm for RELAX NG) over
//! hash-consed patterns, with whole child elements as steps.
//!
//! Invariant: pure. No IO (the schema is compiled in), no clock, no hash
//! iteration; the same document always gives the same problems in the same
//! order.

use super::diag::Diagnostic;
use super::xml::{self, Element, LineIndex, Pos, XmlNode};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::OnceLock;

/// The schema files, by the name `include` uses. `cib.rng` is the entry.
const FILES: &[(&str, &str)] = &[
    ("cib.rng", include_str!("../../../cib-schemas/cib.rng")),
    (
        "common.rng",
        include_str!("../../../cib-schemas/common.rng"),
    ),
    (
        "options.rng",
        include_str!("../../../cib-schemas/options.rng"),
    ),
    ("nodes.rng", include_str!("../../../cib-schemas/nodes.rng")),
    (
        "resources.rng",
        include_str!("../../../cib-schemas/resources.rng"),
    ),
    (
        "constraints.rng",
        include_str!("../../../cib-schemas/constraints.rng"),
    ),
    (
        "fencing.rng",
        include_str!("../../../cib-schemas/fencing.rng"),
    ),
    ("acls.rng", include_str!("../../../cib-schemas/acls.rng")),
    ("tags.rng", include_str!("../../../cib-schemas/tags.rng")),
    (
        "alerts.rng",
        include_str!("../../../cib-schemas/alerts.rng"),
    ),
    (
        "status.rng",
        include_str!("../../../cib-schemas/status.rng"),
    ),
];

/// The entry file of the CIB schema.
pub const ENTRY: &str = "cib.rng";

/// The names of the schema files (for tools that hand them to xmllint).
pub fn file_names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(n, _)| *n)
}

/// warden's CIB schema, compiled on first use.
pub fn cib() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::compile(FILES, ENTRY)
            .unwrap_or_else(|e| panic!("the embedded CIB schema does not compile: {e}"))
    })
}

/// What kind of problem the schema found; lets callers replace a generic
/// message with a better one about the same attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    UnknownAttribute,
    AttributeNotAllowedHere,
    BadValue,
    MissingAttribute,
    UnexpectedElement,
    MissingElement,
    UnexpectedText,
    DuplicateId,
    DanglingIdRef,
    WrongRoot,
}

/// One schema problem, about `element` (with its `id`) at `pos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub pos: Pos,
    pub element: String,
    pub id: Option<String>,
    /// The attribute the problem is about, if any.
    pub attribute: Option<String>,
    pub message: String,
    /// Another place the message refers to ("already used on line N").
    pub related: Option<Pos>,
}

impl Problem {
    /// As a located diagnostic (always an error).
    pub fn to_diagnostic(&self, source: &str, lines: &LineIndex) -> Diagnostic {
        let message = match self.related.and_then(|p| lines.line(p)) {
            Some(line) => format!("{} on line {line}", self.message),
            None => self.message.clone(),
        };
        Diagnostic::error(message)
            .at(&self.element, self.id.as_deref(), self.pos)
            .locate(source, lines)
    }
}

/// An attribute typed `ID` by the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdDef {
    pub value: String,
    pub element: String,
    pub pos: Pos,
}

/// An attribute typed `IDREF` (or one item of an `IDREFS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRef {
    pub value: String,
    pub element: String,
    pub element_id: Option<String>,
    pub attribute: String,
    pub pos: Pos,
}

/// The result of validating one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// Structural problems, in document order (ID checks not included).
    pub problems: Vec<Problem>,
    /// Every ID-typed attribute, in document order.
    pub ids: Vec<IdDef>,
    /// Every IDREF-typed attribute, in document order.
    pub refs: Vec<IdRef>,
}

impl Validation {
    /// The ID checks `xmllint` makes: each ID used once, each IDREF naming
    /// an ID.
    pub fn id_problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut first: BTreeMap<&str, &IdDef> = BTreeMap::new();
        for def in &self.ids {
            match first.get(def.value.as_str()) {
                Some(earlier) => out.push(Problem {
                    kind: ProblemKind::DuplicateId,
                    pos: def.pos,
                    element: def.element.clone(),
                    id: Some(def.value.clone()),
                    attribute: Some("id".into()),
                    message: format!(
                        "id '{}' is already used by <{}>",
                        def.value, earlier.element
                    ),
                    related: Some(earlier.pos),
                }),
                None => {
                    first.insert(&def.value, def);
                }
            }
        }
        for r in &self.refs {
            if !first.contains_key(r.value.as_str()) {
                out.push(Problem {
                    kind: ProblemKind::DanglingIdRef,
                    pos: r.pos,
                    element: r.element.clone(),
                    id: r.element_id.clone(),
                    attribute: Some(r.attribute.clone()),
                    message: format!(
                        "attribute '{}' refers to '{}', which is not the id of anything in the document",
                        r.attribute, r.value
                    ),
                    related: None,
                });
            }
        }
        out
    }

    /// Structural and ID problems together, in document order.
    pub fn all_problems(&self) -> Vec<Problem> {
        let mut all = self.problems.clone();
        all.extend(self.id_problems());
        all.sort_by_key(|p| p.pos);
        all
    }
}

/// Checks a document's text against warden's CIB schema: XML syntax errors
/// and every schema problem, located in `source`.
pub fn check(text: &str, source: &str) -> Vec<Diagnostic> {
    let lines = LineIndex::new(text);
    match xml::parse_element(text) {
        Err(e) => {
            let mut d = Diagnostic::error(format!("malformed XML: {}", e.message));
            d.pos = e.pos;
            vec![d.locate(source, &lines)]
        }
        Ok(root) => cib()
            .validate(&root)
            .all_problems()
            .iter()
            .map(|p| p.to_diagnostic(source, &lines))
            .collect(),
    }
}

/// True for parameter names whose values are secrets: never shown.
pub fn is_secret_name(name: &str) -> bool {
    name == "passwd" || name == "password" || name.ends_with("_passwd")
}

// ---------------------------------------------------------------------------
// Patterns

type P = u32;

const NOT_ALLOWED: P = 0;
const EMPTY: P = 1;
const TEXT: P = 2;

/// A set of names: exactly `names`, or (`any`) every name but `names`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct NameClass {
    any: bool,
    names: Vec<String>,
}

impl NameClass {
    fn contains(&self, name: &str) -> bool {
        self.any != self.names.iter().any(|n| n == name)
    }
}

/// XML Schema datatypes the subset knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Datatype {
    String,
    Token,
    Integer,
    NonNegativeInteger,
    PositiveInteger,
    Boolean,
    NcName,
    Id,
    IdRef,
    IdRefs,
}

impl Datatype {
    fn from_name(name: &str) -> Option<Datatype> {
        Some(match name {
            "string" => Datatype::String,
            "token" => Datatype::Token,
            "integer" => Datatype::Integer,
            "nonNegativeInteger" => Datatype::NonNegativeInteger,
            "positiveInteger" => Datatype::PositiveInteger,
            "boolean" => Datatype::Boolean,
            "NCName" => Datatype::NcName,
            "ID" => Datatype::Id,
            "IDREF" => Datatype::IdRef,
            "IDREFS" => Datatype::IdRefs,
            _ => return None,
        })
    }

    fn allows(self, v: &str) -> bool {
        let t = v.trim_matches(|c: char| c.is_ascii_whitespace());
        match self {
            Datatype::String | Datatype::Token => true,
            Datatype::Integer => integer_sign(t).is_some(),
            Datatype::NonNegativeInteger => integer_sign(t).is_some_and(|s| s >= 0),
            Datatype::PositiveInteger => integer_sign(t) == Some(1),
            Datatype::Boolean => matches!(t, "true" | "false" | "1" | "0"),
            Datatype::NcName | Datatype::Id | Datatype::IdRef => is_ncname(t),
            Datatype::IdRefs => {
                let mut items = t.split_ascii_whitespace().peekable();
                items.peek().is_some() && items.all(is_ncname)
            }
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Datatype::String | Datatype::Token => "any text",
            Datatype::Integer => "an integer",
            Datatype::NonNegativeInteger => "a non-negative integer",
            Datatype::PositiveInteger => "a positive integer",
            Datatype::Boolean => "true or false",
            Datatype::NcName | Datatype::Id | Datatype::IdRef => {
                "an XML name (letters, digits, '_', '-', '.'; not starting with a digit, '-' or '.')"
            }
            Datatype::IdRefs => "a space-separated list of XML names",
        }
    }
}

/// The sign of an XML Schema integer literal (-1, 0, 1), if it is one.
fn integer_sign(t: &str) -> Option<i8> {
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if digits.bytes().all(|b| b == b'0') {
        0
    } else if neg {
        -1
    } else {
        1
    })
}

/// An XML name without colons.
fn is_ncname(t: &str) -> bool {
    let mut chars = t.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{b7}'))
}

fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pat {
    NotAllowed,
    Empty,
    Text,
    Choice(P, P),
    Group(P, P),
    Interleave(P, P),
    OneOrMore(P),
    /// Name class index, content.
    Element(u32, P),
    /// Name class index, value pattern.
    Attribute(u32, P),
    Data(Datatype),
    /// Whether the comparison is on tokens (whitespace collapsed), value.
    Value(bool, String),
    /// A define, by index.
    Ref(u32),
}

/// Hash-consed patterns: each distinct pattern exists once, so a pattern
/// id is its identity and derivatives can be memoized by id.
#[derive(Debug, Clone)]
struct Arena {
    pats: Vec<Pat>,
    index: BTreeMap<Pat, P>,
    names: Vec<NameClass>,
    defs: Vec<P>,
}

impl Arena {
    fn new() -> Arena {
        let mut a = Arena {
            pats: Vec::new(),
            index: BTreeMap::new(),
            names: Vec::new(),
            defs: Vec::new(),
        };
        assert_eq!(a.intern(Pat::NotAllowed), NOT_ALLOWED);
        assert_eq!(a.intern(Pat::Empty), EMPTY);
        assert_eq!(a.intern(Pat::Text), TEXT);
        a
    }

    fn intern(&mut self, p: Pat) -> P {
        if let Some(&id) = self.index.get(&p) {
            return id;
        }
        let id = self.pats.len() as P;
        self.pats.push(p.clone());
        self.index.insert(p, id);
        id
    }

    fn name_class(&mut self, nc: NameClass) -> u32 {
        if let Some(i) = self.names.iter().position(|n| *n == nc) {
            return i as u32;
        }
        self.names.push(nc);
        (self.names.len() - 1) as u32
    }

    fn pat(&self, p: P) -> &Pat {
        &self.pats[p as usize]
    }

    /// A choice, flattened and without duplicates, keeping the order in
    /// which alternatives were written (messages list them in that order).
    fn choice(&mut self, a: P, b: P) -> P {
        if a == NOT_ALLOWED || a == b {
            return b;
        }
        if b == NOT_ALLOWED {
            return a;
        }
        let mut leaves = Vec::new();
        self.choice_leaves(a, &mut leaves);
        self.choice_leaves(b, &mut leaves);
        let mut seen = BTreeSet::new();
        leaves.retain(|p| seen.insert(*p));
        let mut it = leaves.into_iter().rev();
        let mut acc = it.next().unwrap_or(NOT_ALLOWED);
        for p in it {
            acc = self.intern(Pat::Choice(p, acc));
        }
        acc
    }

    fn choice_leaves(&self, p: P, out: &mut Vec<P>) {
        match *self.pat(p) {
            Pat::Choice(a, b) => {
                self.choice_leaves(a, out);
                self.choice_leaves(b, out);
            }
            _ => out.push(p),
        }
    }

    fn group(&mut self, a: P, b: P) -> P {
        if a == NOT_ALLOWED || b == NOT_ALLOWED {
            NOT_ALLOWED
        } else if a == EMPTY {
            b
        } else if b == EMPTY {
            a
        } else {
            self.intern(Pat::Group(a, b))
        }
    }

    fn interleave(&mut self, a: P, b: P) -> P {
        if a == NOT_ALLOWED || b == NOT_ALLOWED {
            NOT_ALLOWED
        } else if a == EMPTY {
            b
        } else if b == EMPTY {
            a
        } else {
            // Interleave is commutative: one order, more sharing.
            let (x, y) = if a <= b { (a, b) } else { (b, a) };
            self.intern(Pat::Interleave(x, y))
        }
    }

    fn one_or_more(&mut self, a: P) -> P {
        if a == NOT_ALLOWED || a == EMPTY {
            a
        } else {
            self.intern(Pat::OneOrMore(a))
        }
    }

    /// The pattern behind a reference.
    fn deref(&self, p: P) -> P {
        let mut p = p;
        while let Pat::Ref(d) = *self.pat(p) {
            p = self.defs[d as usize];
        }
        p
    }
}

// ---------------------------------------------------------------------------
// Compiling the schema

/// A compiled schema.
#[derive(Debug, Clone)]
pub struct Schema {
    arena: Arena,
    start: P,
}

struct Compiler<'a> {
    files: &'a [(&'a str, &'a str)],
    arena: Arena,
    /// Define name -> index, and the XML of each define's body.
    def_index: BTreeMap<String, u32>,
    def_bodies: Vec<(String, Vec<Element>)>,
    start: Vec<Element>,
    included: BTreeSet<String>,
}

fn rng_elements(e: &Element) -> Vec<Element> {
    e.elements().cloned().collect()
}

impl Schema {
    /// Compiles `entry` from `files` (name, text), following `include`s.
    pub fn compile(files: &[(&str, &str)], entry: &str) -> Result<Schema, String> {
        let mut c = Compiler {
            files,
            arena: Arena::new(),
            def_index: BTreeMap::new(),
            def_bodies: Vec::new(),
            start: Vec::new(),
            included: BTreeSet::new(),
        };
        c.load(entry)?;
        if c.start.is_empty() {
            return Err(format!("{entry}: no <start>"));
        }
        c.arena.defs = vec![NOT_ALLOWED; c.def_bodies.len()];
        let bodies = std::mem::take(&mut c.def_bodies);
        for (i, (name, body)) in bodies.iter().enumerate() {
            let p = c
                .group_of(body)
                .map_err(|e| format!("define '{name}': {e}"))?;
            c.arena.defs[i] = p;
        }
        let start_xml = std::mem::take(&mut c.start);
        let start = c.group_of(&start_xml).map_err(|e| format!("start: {e}"))?;
        let schema = Schema {
            arena: c.arena,
            start,
        };
        schema.check_no_bare_recursion()?;
        Ok(schema)
    }

    /// A define that reaches itself without going through an element would
    /// make matching loop; RELAX NG forbids it, and so does this check.
    fn check_no_bare_recursion(&self) -> Result<(), String> {
        fn walk(a: &Arena, p: P, stack: &mut Vec<u32>) -> Result<(), String> {
            match *a.pat(p) {
                Pat::Choice(x, y) | Pat::Group(x, y) | Pat::Interleave(x, y) => {
                    walk(a, x, stack)?;
                    walk(a, y, stack)
                }
                Pat::OneOrMore(x) | Pat::Attribute(_, x) => walk(a, x, stack),
                Pat::Ref(d) => {
                    if stack.contains(&d) {
                        return Err(format!("define #{d} refers to itself outside an element"));
                    }
                    stack.push(d);
                    let r = walk(a, a.defs[d as usize], stack);
                    stack.pop();
                    r
                }
                _ => Ok(()),
            }
        }
        for d in 0..self.arena.defs.len() {
            walk(&self.arena, self.arena.defs[d], &mut vec![d as u32])?;
        }
        Ok(())
    }
}

impl<'a> Compiler<'a> {
    fn load(&mut self, name: &str) -> Result<(), String> {
        if !self.included.insert(name.to_string()) {
            return Err(format!("{name} is included twice"));
        }
        let text = self
            .files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| format!("no schema file '{name}'"))?;
        let root = xml::parse_element(text).map_err(|e| format!("{name}: {}", e.message))?;
        if root.name != "grammar" {
            return Err(format!(
                "{name}: the root is <{}>, not <grammar>",
                root.name
            ));
        }
        self.grammar_content(name, &root)
    }

    fn grammar_content(&mut self, file: &str, g: &Element) -> Result<(), String> {
        for child in g.elements() {
            match child.name.as_str() {
                "start" => self.start.extend(rng_elements(child)),
                "define" => {
                    let name = child
                        .attr("name")
                        .ok_or_else(|| format!("{file}: <define> without name"))?;
                    if child.attr("combine").is_some() {
                        return Err(format!("{file}: define '{name}': combine is not supported"));
                    }
                    if self.def_index.contains_key(name) {
                        return Err(format!("{file}: define '{name}' is defined twice"));
                    }
                    self.def_index
                        .insert(name.to_string(), self.def_bodies.len() as u32);
                    self.def_bodies
                        .push((name.to_string(), rng_elements(child)));
                }
                "include" => {
                    if child.elements().next().is_some() {
                        return Err(format!("{file}: <include> with overrides is not supported"));
                    }
                    let href = child
                        .attr("href")
                        .ok_or_else(|| format!("{file}: <include> without href"))?;
                    self.load(href)?;
                }
                "div" => self.grammar_content(file, child)?,
                other => return Err(format!("{file}: <{other}> is not supported in a grammar")),
            }
        }
        Ok(())
    }

    /// Several patterns in a row: their group.
    fn group_of(&mut self, items: &[Element]) -> Result<P, String> {
        let mut acc = EMPTY;
        for e in items.iter().rev() {
            let p = self.pattern(e)?;
            acc = self.arena.group(p, acc);
        }
        Ok(acc)
    }

    fn pattern(&mut self, e: &Element) -> Result<P, String> {
        let a = &mut self.arena;
        Ok(match e.name.as_str() {
            "element" | "attribute" => {
                let mut children = rng_elements(e);
                let nc = match e.attr("name") {
                    Some(n) => NameClass {
                        any: false,
                        names: vec![n.trim().to_string()],
                    },
                    None => {
                        if children.is_empty() {
                            return Err(format!("<{}> without a name", e.name));
                        }
                        let first = children.remove(0);
                        name_class(&first)?
                    }
                };
                let nc = self.arena.name_class(nc);
                if e.name == "element" {
                    let content = self.group_of(&children)?;
                    self.arena.intern(Pat::Element(nc, content))
                } else {
                    let value = if children.is_empty() {
                        TEXT
                    } else {
                        self.group_of(&children)?
                    };
                    self.arena.intern(Pat::Attribute(nc, value))
                }
            }
            "group" => self.group_of(&rng_elements(e))?,
            "interleave" => {
                let mut acc = EMPTY;
                for c in rng_elements(e).iter().rev() {
                    let p = self.pattern(c)?;
                    acc = self.arena.interleave(p, acc);
                }
                acc
            }
            "choice" => {
                let children = rng_elements(e);
                if children.is_empty() {
                    return Err("<choice> without alternatives".into());
                }
                let mut acc = NOT_ALLOWED;
                for c in &children {
                    let p = self.pattern(c)?;
                    acc = self.arena.choice(acc, p);
                }
                acc
            }
            "optional" => {
                let p = self.group_of(&rng_elements(e))?;
                self.arena.choice(p, EMPTY)
            }
            "zeroOrMore" => {
                let p = self.group_of(&rng_elements(e))?;
                let p = self.arena.one_or_more(p);
                self.arena.choice(p, EMPTY)
            }
            "oneOrMore" => {
                let p = self.group_of(&rng_elements(e))?;
                self.arena.one_or_more(p)
            }
            "ref" => {
                let name = e.attr("name").ok_or("<ref> without name")?;
                let d = *self
                    .def_index
                    .get(name)
                    .ok_or_else(|| format!("<ref name='{name}'>: no such define"))?;
                self.arena.intern(Pat::Ref(d))
            }
            "empty" => EMPTY,
            "notAllowed" => NOT_ALLOWED,
            "text" => TEXT,
            "data" => {
                if e.elements().next().is_some() {
                    return Err("<data> with parameters or except is not supported".into());
                }
                let t = e.attr("type").ok_or("<data> without type")?;
                let dt = Datatype::from_name(t)
                    .ok_or_else(|| format!("<data type='{t}'> is not supported"))?;
                a.intern(Pat::Data(dt))
            }
            "value" => {
                let token = match e.attr("type") {
                    None | Some("token") => true,
                    Some("string") => false,
                    Some(t) => return Err(format!("<value type='{t}'> is not supported")),
                };
                let text: String = e
                    .children
                    .iter()
                    .filter_map(|c| match c {
                        XmlNode::Text(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                a.intern(Pat::Value(token, text))
            }
            other => return Err(format!("<{other}> is not in the supported subset")),
        })
    }
}

fn name_class(e: &Element) -> Result<NameClass, String> {
    fn names(e: &Element, out: &mut Vec<String>) -> Result<(), String> {
        match e.name.as_str() {
            "name" => {
                out.push(element_text(e).trim().to_string());
                Ok(())
            }
            "choice" => e.elements().try_for_each(|c| names(c, out)),
            other => Err(format!("name class <{other}> is not supported")),
        }
    }
    match e.name.as_str() {
        "anyName" => {
            let mut except = Vec::new();
            for x in e.elements() {
                if x.name != "except" {
                    return Err(format!("<anyName> with <{}>", x.name));
                }
                for n in x.elements() {
                    names(n, &mut except)?;
                }
            }
            Ok(NameClass {
                any: true,
                names: except,
            })
        }
        _ => {
            let mut v = Vec::new();
            names(e, &mut v)?;
            Ok(NameClass {
                any: false,
                names: v,
            })
        }
    }
}

fn element_text(e: &Element) -> String {
    e.children
        .iter()
        .filter_map(|c| match c {
            XmlNode::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Validating

#[derive(Default)]
struct Findings {
    problems: Vec<Problem>,
    ids: Vec<IdDef>,
    refs: Vec<IdRef>,
}

impl Findings {
    fn append(&mut self, mut other: Findings) {
        self.problems.append(&mut other.problems);
        self.ids.append(&mut other.ids);
        self.refs.append(&mut other.refs);
    }
}

/// What a derivative consumes: an attribute or a child element.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Attribute,
    Child,
}

struct Validator {
    a: Arena,
    nullable: Vec<u8>,
    syms: BTreeMap<String, u32>,
    cands: BTreeMap<(Step, P, u32), Rc<[P]>>,
    derivs: BTreeMap<(Step, P, u32, u64), P>,
    closed: BTreeMap<(P, bool), P>,
}

impl PartialOrd for Step {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Step {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

impl Schema {
    /// Validates a document (its root element) against the schema.
    pub fn validate(&self, root: &Element) -> Validation {
        self.session().validate(root)
    }

    /// A validation session: validates documents one after the other,
    /// keeping what it learnt about the schema's patterns (results are the
    /// same; many documents go faster).
    pub fn session(&self) -> Session<'_> {
        Session {
            schema: self,
            v: self.fresh_validator(),
        }
    }

    fn fresh_validator(&self) -> Validator {
        Validator {
            a: self.arena.clone(),
            nullable: Vec::new(),
            syms: BTreeMap::new(),
            cands: BTreeMap::new(),
            derivs: BTreeMap::new(),
            closed: BTreeMap::new(),
        }
    }
}

/// See [`Schema::session`].
pub struct Session<'s> {
    schema: &'s Schema,
    v: Validator,
}

/// Patterns and memo entries a session keeps before it starts afresh
/// (names in open content can make them grow without end).
const SESSION_LIMIT: usize = 500_000;

impl Session<'_> {
    /// Validates a document (its root element).
    pub fn validate(&mut self, root: &Element) -> Validation {
        if self.v.a.pats.len() + self.v.derivs.len() + self.v.cands.len() > SESSION_LIMIT {
            self.v = self.schema.fresh_validator();
        }
        let start = self.schema.start;
        let v = &mut self.v;
        let sym = v.sym(&root.name);
        let cands = v.candidates(Step::Child, start, sym);
        let mut f = Findings::default();
        if cands.is_empty() {
            let expected = v.expected_elements(start);
            f.problems.push(Problem {
                kind: ProblemKind::WrongRoot,
                pos: root.pos,
                element: root.name.clone(),
                id: root.id().map(str::to_string),
                attribute: None,
                message: format!(
                    "expected {} as the root element",
                    or_list(
                        &expected
                            .iter()
                            .map(|n| format!("<{n}>"))
                            .collect::<Vec<_>>()
                    )
                ),
                related: None,
            });
        } else {
            let (_, best) = v.best_candidate(root, &cands);
            f.append(best);
        }
        Validation {
            problems: f.problems,
            ids: f.ids,
            refs: f.refs,
        }
    }
}

impl Validator {
    fn sym(&mut self, name: &str) -> u32 {
        if let Some(&s) = self.syms.get(name) {
            return s;
        }
        let s = self.syms.len() as u32;
        self.syms.insert(name.to_string(), s);
        s
    }

    fn sym_name(&self, sym: u32) -> &str {
        self.syms
            .iter()
            .find(|(_, &s)| s == sym)
            .map(|(n, _)| n.as_str())
            .unwrap_or("")
    }

    fn is_nullable(&mut self, p: P) -> bool {
        if let Some(&v) = self.nullable.get(p as usize) {
            if v != 0 {
                return v == 2;
            }
        }
        let r = match *self.a.pat(p) {
            Pat::Empty | Pat::Text => true,
            Pat::NotAllowed
            | Pat::Element(..)
            | Pat::Attribute(..)
            | Pat::Data(_)
            | Pat::Value(..) => false,
            Pat::Choice(x, y) => self.is_nullable(x) || self.is_nullable(y),
            Pat::Group(x, y) | Pat::Interleave(x, y) => self.is_nullable(x) && self.is_nullable(y),
            Pat::OneOrMore(x) => self.is_nullable(x),
            Pat::Ref(_) => {
                let d = self.a.deref(p);
                self.is_nullable(d)
            }
        };
        if self.nullable.len() <= p as usize {
            self.nullable
                .resize(self.a.pats.len().max(p as usize + 1), 0);
        }
        self.nullable[p as usize] = if r { 2 } else { 1 };
        r
    }

    /// The attribute (or child element) patterns that could consume a
    /// name next.
    fn candidates(&mut self, step: Step, p: P, sym: u32) -> Rc<[P]> {
        if let Some(c) = self.cands.get(&(step, p, sym)) {
            return c.clone();
        }
        let name = self.sym_name(sym).to_string();
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        self.collect(step, p, Some(&name), &mut out, &mut seen);
        let rc: Rc<[P]> = out.into();
        self.cands.insert((step, p, sym), rc.clone());
        rc
    }

    fn collect(
        &mut self,
        step: Step,
        p: P,
        name: Option<&str>,
        out: &mut Vec<P>,
        seen: &mut BTreeSet<P>,
    ) {
        if !seen.insert(p) {
            return;
        }
        match *self.a.pat(p) {
            Pat::Choice(x, y) | Pat::Interleave(x, y) => {
                self.collect(step, x, name, out, seen);
                self.collect(step, y, name, out, seen);
            }
            Pat::Group(x, y) => {
                self.collect(step, x, name, out, seen);
                if step == Step::Attribute || self.is_nullable(x) {
                    self.collect(step, y, name, out, seen);
                }
            }
            Pat::OneOrMore(x) => self.collect(step, x, name, out, seen),
            Pat::Ref(_) => {
                let d = self.a.deref(p);
                self.collect(step, d, name, out, seen);
            }
            Pat::Attribute(nc, _) | Pat::Element(nc, _)
                if (step == Step::Attribute) == matches!(self.a.pat(p), Pat::Attribute(..))
                    && matches_name(&self.a.names[nc as usize], name) =>
            {
                out.push(p);
            }
            _ => {}
        }
    }

    /// The derivative of `p` after consuming one attribute (or child) that
    /// exactly the patterns in `accepted` match.
    fn deriv(&mut self, step: Step, p: P, sym: u32, cands: &[P], accepted: &[P]) -> P {
        let mask: Option<u64> = (cands.len() <= 64).then(|| {
            cands
                .iter()
                .enumerate()
                .filter(|(_, c)| accepted.contains(c))
                .fold(0u64, |m, (i, _)| m | (1 << i))
        });
        if let Some(m) = mask {
            if let Some(&d) = self.derivs.get(&(step, p, sym, m)) {
                return d;
            }
        }
        let mut memo = BTreeMap::new();
        let d = self.deriv_rec(step, p, accepted, &mut memo);
        if let Some(m) = mask {
            self.derivs.insert((step, p, sym, m), d);
        }
        d
    }

    fn deriv_rec(&mut self, step: Step, p: P, acc: &[P], memo: &mut BTreeMap<P, P>) -> P {
        if let Some(&d) = memo.get(&p) {
            return d;
        }
        let d = match *self.a.pat(p) {
            Pat::Choice(x, y) => {
                let dx = self.deriv_rec(step, x, acc, memo);
                let dy = self.deriv_rec(step, y, acc, memo);
                self.a.choice(dx, dy)
            }
            Pat::Interleave(x, y) => {
                let dx = self.deriv_rec(step, x, acc, memo);
                let dy = self.deriv_rec(step, y, acc, memo);
                let l = self.a.interleave(dx, y);
                let r = self.a.interleave(x, dy);
                self.a.choice(l, r)
            }
            Pat::Group(x, y) => {
                let dx = self.deriv_rec(step, x, acc, memo);
                let l = self.a.group(dx, y);
                // Attributes are unordered: either side may take this one.
                if step == Step::Attribute || self.is_nullable(x) {
                    let dy = self.deriv_rec(step, y, acc, memo);
                    let r = if step == Step::Attribute {
                        self.a.group(x, dy)
                    } else {
                        dy
                    };
                    self.a.choice(l, r)
                } else {
                    l
                }
            }
            Pat::OneOrMore(x) => {
                let dx = self.deriv_rec(step, x, acc, memo);
                let more = self.a.choice(p, EMPTY);
                self.a.group(dx, more)
            }
            Pat::Ref(_) => {
                let t = self.a.deref(p);
                self.deriv_rec(step, t, acc, memo)
            }
            Pat::Attribute(..) | Pat::Element(..) => {
                if acc.contains(&p) {
                    EMPTY
                } else {
                    NOT_ALLOWED
                }
            }
            _ => NOT_ALLOWED,
        };
        memo.insert(p, d);
        d
    }

    /// After the attributes: those still expected are missing (`strict`),
    /// or taken as present (to go on after reporting them).
    fn close_attributes(&mut self, p: P, strict: bool) -> P {
        if let Some(&c) = self.closed.get(&(p, strict)) {
            return c;
        }
        let c = match *self.a.pat(p) {
            Pat::Choice(x, y) => {
                let cx = self.close_attributes(x, strict);
                let cy = self.close_attributes(y, strict);
                self.a.choice(cx, cy)
            }
            Pat::Group(x, y) => {
                let cx = self.close_attributes(x, strict);
                let cy = self.close_attributes(y, strict);
                self.a.group(cx, cy)
            }
            Pat::Interleave(x, y) => {
                let cx = self.close_attributes(x, strict);
                let cy = self.close_attributes(y, strict);
                self.a.interleave(cx, cy)
            }
            Pat::OneOrMore(x) => {
                let cx = self.close_attributes(x, strict);
                self.a.one_or_more(cx)
            }
            Pat::Ref(_) => {
                let t = self.a.deref(p);
                self.close_attributes(t, strict)
            }
            Pat::Attribute(..) => {
                if strict {
                    NOT_ALLOWED
                } else {
                    EMPTY
                }
            }
            _ => p,
        };
        self.closed.insert((p, strict), c);
        c
    }

    /// The derivative after a text; `lenient` takes any text as a valid
    /// value (to go on after reporting it).
    fn text_deriv(&mut self, p: P, text: &str, lenient: bool) -> P {
        match self.a.pat(p).clone() {
            Pat::Choice(x, y) => {
                let dx = self.text_deriv(x, text, lenient);
                let dy = self.text_deriv(y, text, lenient);
                self.a.choice(dx, dy)
            }
            Pat::Interleave(x, y) => {
                let dx = self.text_deriv(x, text, lenient);
                let dy = self.text_deriv(y, text, lenient);
                let l = self.a.interleave(dx, y);
                let r = self.a.interleave(x, dy);
                self.a.choice(l, r)
            }
            Pat::Group(x, y) => {
                let dx = self.text_deriv(x, text, lenient);
                let l = self.a.group(dx, y);
                if self.is_nullable(x) {
                    let dy = self.text_deriv(y, text, lenient);
                    self.a.choice(l, dy)
                } else {
                    l
                }
            }
            Pat::OneOrMore(x) => {
                let dx = self.text_deriv(x, text, lenient);
                let more = self.a.choice(p, EMPTY);
                self.a.group(dx, more)
            }
            Pat::Ref(_) => {
                let t = self.a.deref(p);
                self.text_deriv(t, text, lenient)
            }
            Pat::Text => TEXT,
            Pat::Data(dt) => {
                if lenient || dt.allows(text) {
                    EMPTY
                } else {
                    NOT_ALLOWED
                }
            }
            Pat::Value(token, v) => {
                if lenient || value_matches(token, &v, text) {
                    EMPTY
                } else {
                    NOT_ALLOWED
                }
            }
            _ => NOT_ALLOWED,
        }
    }

    /// The data and value patterns a text could match next.
    fn text_patterns(&mut self, p: P, out: &mut Vec<P>, seen: &mut BTreeSet<P>) {
        if !seen.insert(p) {
            return;
        }
        match *self.a.pat(p) {
            Pat::Choice(x, y) | Pat::Interleave(x, y) => {
                self.text_patterns(x, out, seen);
                self.text_patterns(y, out, seen);
            }
            Pat::Group(x, y) => {
                self.text_patterns(x, out, seen);
                if self.is_nullable(x) {
                    self.text_patterns(y, out, seen);
                }
            }
            Pat::OneOrMore(x) => self.text_patterns(x, out, seen),
            Pat::Ref(_) => {
                let d = self.a.deref(p);
                self.text_patterns(d, out, seen);
            }
            Pat::Data(_) | Pat::Value(..) => out.push(p),
            _ => {}
        }
    }

    /// Whether an attribute's value pattern accepts a value.
    fn value_ok(&self, p: P, v: &str) -> bool {
        match self.a.pat(p) {
            Pat::Text => true,
            Pat::Empty => v.trim().is_empty(),
            Pat::Data(dt) => dt.allows(v),
            Pat::Value(token, expected) => value_matches(*token, expected, v),
            Pat::Choice(x, y) => self.value_ok(*x, v) || self.value_ok(*y, v),
            Pat::Ref(_) => self.value_ok(self.a.deref(p), v),
            _ => false,
        }
    }

    /// The value patterns of attribute patterns.
    fn value_patterns(&self, attributes: &[P]) -> Vec<P> {
        attributes
            .iter()
            .filter_map(|&c| match *self.a.pat(c) {
                Pat::Attribute(_, v) => Some(v),
                _ => None,
            })
            .collect()
    }

    /// "an integer, INFINITY, +INFINITY or -INFINITY"
    fn describe_values(&self, patterns: &[P]) -> String {
        fn walk(a: &Arena, p: P, out: &mut Vec<String>) {
            match a.pat(p) {
                Pat::Choice(x, y) => {
                    walk(a, *x, out);
                    walk(a, *y, out);
                }
                Pat::Ref(_) => walk(a, a.deref(p), out),
                Pat::Data(dt) => out.push(dt.describe().to_string()),
                Pat::Value(_, v) => out.push(v.clone()),
                Pat::Empty => out.push("an empty value".to_string()),
                _ => out.push("text".to_string()),
            }
        }
        let mut items = Vec::new();
        for &v in patterns {
            walk(&self.a, v, &mut items);
        }
        let mut seen = BTreeSet::new();
        items.retain(|i| seen.insert(i.clone()));
        let only_values = patterns.iter().all(|&v| {
            let mut leaves = Vec::new();
            self.a.choice_leaves(self.a.deref(v), &mut leaves);
            leaves
                .iter()
                .all(|&l| matches!(self.a.pat(self.a.deref(l)), Pat::Value(..)))
        });
        if only_values && items.len() > 1 {
            format!("one of {}", shorten(&items).join(", "))
        } else {
            or_list(&shorten(&items))
        }
    }

    /// Names of the elements that could come next, in schema order.
    fn expected_elements(&mut self, p: P) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        self.collect(Step::Child, p, None, &mut out, &mut seen);
        self.element_names(&out)
    }

    fn element_names(&self, patterns: &[P]) -> Vec<String> {
        let mut names = Vec::new();
        for &e in patterns {
            if let Pat::Element(nc, _) | Pat::Attribute(nc, _) = *self.a.pat(e) {
                let nc = &self.a.names[nc as usize];
                if nc.any {
                    names.push("any element".to_string());
                } else {
                    names.extend(nc.names.iter().cloned());
                }
            }
        }
        let mut seen = BTreeSet::new();
        names.retain(|n| seen.insert(n.clone()));
        names
    }

    /// Every element name that appears anywhere in a content pattern (not
    /// inside child elements).
    fn all_child_names(&mut self, p: P) -> BTreeSet<String> {
        fn walk(a: &Arena, p: P, seen: &mut BTreeSet<P>, out: &mut BTreeSet<String>) {
            if !seen.insert(p) {
                return;
            }
            match *a.pat(p) {
                Pat::Choice(x, y) | Pat::Group(x, y) | Pat::Interleave(x, y) => {
                    walk(a, x, seen, out);
                    walk(a, y, seen, out);
                }
                Pat::OneOrMore(x) => walk(a, x, seen, out),
                Pat::Ref(_) => walk(a, a.deref(p), seen, out),
                Pat::Element(nc, _) => {
                    out.extend(a.names[nc as usize].names.iter().cloned());
                }
                _ => {}
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.a, p, &mut BTreeSet::new(), &mut out);
        out
    }

    /// What is still required, as alternatives (sets of names, smallest
    /// first): attributes (`step` Attribute) or child elements.
    fn requirements(&mut self, step: Step, p: P) -> Vec<BTreeSet<String>> {
        const LIMIT: usize = 16;
        fn minimal(mut alts: Vec<BTreeSet<String>>) -> Vec<BTreeSet<String>> {
            alts.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
            let mut out: Vec<BTreeSet<String>> = Vec::new();
            for a in alts {
                if !out.iter().any(|o| o.is_subset(&a)) {
                    out.push(a);
                }
            }
            out.truncate(LIMIT);
            out
        }
        let alts = match *self.a.pat(p) {
            Pat::NotAllowed => Vec::new(),
            Pat::Choice(x, y) => {
                let mut v = self.requirements(step, x);
                v.extend(self.requirements(step, y));
                minimal(v)
            }
            Pat::Group(x, y) | Pat::Interleave(x, y) => {
                let vx = self.requirements(step, x);
                let vy = self.requirements(step, y);
                let mut v = Vec::new();
                for a in &vx {
                    for b in &vy {
                        v.push(a.union(b).cloned().collect());
                    }
                }
                minimal(v)
            }
            Pat::OneOrMore(x) => self.requirements(step, x),
            Pat::Ref(_) => {
                let t = self.a.deref(p);
                self.requirements(step, t)
            }
            Pat::Attribute(..) if step == Step::Attribute => {
                vec![self.element_names(&[p]).into_iter().collect()]
            }
            Pat::Element(..) if step == Step::Child => {
                vec![self.element_names(&[p]).into_iter().collect()]
            }
            _ => vec![BTreeSet::new()],
        };
        alts
    }

    /// Validates `x` against each candidate element pattern; returns the
    /// ones that accept it, or (if none does) the one with the fewest
    /// problems, with its findings.
    fn best_candidate(&mut self, x: &Element, cands: &[P]) -> (Vec<P>, Findings) {
        let mut ok: Vec<(P, Findings)> = Vec::new();
        let mut best: Option<(P, Findings)> = None;
        for &c in cands {
            let Pat::Element(_, content) = *self.a.pat(c) else {
                continue;
            };
            let f = self.element(x, content);
            if f.problems.is_empty() {
                ok.push((c, f));
            } else if match &best {
                None => true,
                Some((_, b)) => f.problems.len() < b.problems.len(),
            } {
                best = Some((c, f));
            }
        }
        if !ok.is_empty() {
            let accepted = ok.iter().map(|(c, _)| *c).collect();
            let (_, f) = ok.swap_remove(0);
            return (accepted, f);
        }
        match best {
            Some((c, f)) => (vec![c], f),
            None => (Vec::new(), Findings::default()),
        }
    }

    /// Validates one element's attributes and content against `content`.
    fn element(&mut self, x: &Element, content: P) -> Findings {
        let mut f = Findings::default();
        let xid = x.id().map(str::to_string);
        let problem = |kind, attribute: Option<&str>, message: String| Problem {
            kind,
            pos: x.pos,
            element: x.name.clone(),
            id: xid.clone(),
            attribute: attribute.map(str::to_string),
            message,
            related: None,
        };

        // Attributes, in document order.
        let mut p = content;
        for (name, value) in &x.attrs {
            if name == "xmlns" || name.starts_with("xmlns:") || name.starts_with("xml:") {
                continue;
            }
            let sym = self.sym(name);
            let cands = self.candidates(Step::Attribute, p, sym);
            if cands.is_empty() {
                let known = self.candidates(Step::Attribute, content, sym);
                if known.is_empty() {
                    let mut allowed = Vec::new();
                    self.collect(
                        Step::Attribute,
                        content,
                        None,
                        &mut allowed,
                        &mut BTreeSet::new(),
                    );
                    let allowed = self.element_names(&allowed);
                    f.problems.push(problem(
                        ProblemKind::UnknownAttribute,
                        Some(name),
                        format!(
                            "unknown attribute '{name}'{}",
                            if allowed.is_empty() {
                                String::new()
                            } else {
                                format!(": expected {}", or_list(&shorten(&allowed)))
                            }
                        ),
                    ));
                } else {
                    f.problems.push(problem(
                        ProblemKind::AttributeNotAllowedHere,
                        Some(name),
                        format!(
                            "attribute '{name}' cannot be combined with {}",
                            and_list(
                                &x.attrs
                                    .iter()
                                    .map(|(k, _)| k)
                                    .filter(|k| *k != name && *k != "id")
                                    .map(|k| format!("'{k}'"))
                                    .collect::<Vec<_>>()
                            )
                        ),
                    ));
                }
                continue;
            }
            let accepted: Vec<P> = cands
                .iter()
                .copied()
                .filter(|&c| match *self.a.pat(c) {
                    Pat::Attribute(_, v) => self.value_ok(v, value),
                    _ => false,
                })
                .collect();
            let accepted = if accepted.is_empty() {
                f.problems.push(problem(
                    ProblemKind::BadValue,
                    Some(name),
                    format!(
                        "attribute '{name}' is '{}': expected {}",
                        shown_value(x, name, value),
                        self.describe_values(&self.value_patterns(&cands))
                    ),
                ));
                // An invalid id still names its element: references to it
                // are not reported a second time.
                self.record_ids(x, name, value, cands[0], &mut f);
                cands.to_vec()
            } else {
                self.record_ids(x, name, value, accepted[0], &mut f);
                accepted
            };
            p = self.deriv(Step::Attribute, p, sym, &cands, &accepted);
        }
        let mut q = self.close_attributes(p, true);
        if q == NOT_ALLOWED {
            let needs = self.requirements(Step::Attribute, p);
            f.problems.push(problem(
                ProblemKind::MissingAttribute,
                needs
                    .first()
                    .and_then(|s| s.iter().next())
                    .map(|s| s.as_str()),
                needs_message("attribute", &needs),
            ));
            q = self.close_attributes(p, false);
            if q == NOT_ALLOWED {
                return f;
            }
        }

        // Children, in document order; comments do not count and text
        // separated only by comments is one text.
        let mut p = q;
        let mut saw_content = false;
        let mut pending_text = String::new();
        let children: Vec<&XmlNode> = x
            .children
            .iter()
            .filter(|c| !matches!(c, XmlNode::Comment(_)))
            .collect();
        for (i, child) in children.iter().enumerate() {
            match child {
                XmlNode::Text(t) => {
                    pending_text.push_str(t);
                    let next_is_text = matches!(children.get(i + 1), Some(XmlNode::Text(_)));
                    if !next_is_text {
                        saw_content = true;
                        let text = std::mem::take(&mut pending_text);
                        let d = self.text_deriv(p, &text, false);
                        if d != NOT_ALLOWED {
                            p = d;
                            continue;
                        }
                        let shown: String = text.trim().chars().take(40).collect();
                        let mut values = Vec::new();
                        self.text_patterns(p, &mut values, &mut BTreeSet::new());
                        if values.is_empty() {
                            f.problems.push(problem(
                                ProblemKind::UnexpectedText,
                                None,
                                format!("text is not allowed here: '{shown}'"),
                            ));
                        } else {
                            f.problems.push(problem(
                                ProblemKind::BadValue,
                                None,
                                format!(
                                    "the content is '{shown}': expected {}",
                                    self.describe_values(&values)
                                ),
                            ));
                            p = self.text_deriv(p, &text, true);
                        }
                    }
                }
                XmlNode::Element(y) => {
                    saw_content = true;
                    let sym = self.sym(&y.name);
                    let cands = self.candidates(Step::Child, p, sym);
                    if cands.is_empty() {
                        let expected = self.expected_elements(p);
                        let known = self.all_child_names(content).contains(&y.name);
                        let what = if expected.is_empty() {
                            format!("<{}> takes no more child elements", x.name)
                        } else {
                            format!("expected {}", or_list(&shorten(&expected)))
                        };
                        f.problems.push(Problem {
                            pos: y.pos,
                            ..problem(
                                ProblemKind::UnexpectedElement,
                                None,
                                if known {
                                    format!("element <{}> is not allowed here: {what}", y.name)
                                } else {
                                    format!("unexpected element <{}>: {what}", y.name)
                                },
                            )
                        });
                        continue;
                    }
                    let (accepted, child_findings) = self.best_candidate(y, &cands);
                    f.append(child_findings);
                    p = self.deriv(Step::Child, p, sym, &cands, &accepted);
                }
                XmlNode::Comment(_) => {}
            }
        }
        if !saw_content {
            // No content at all reads as the empty string to a data type.
            let d = self.text_deriv(p, "", false);
            p = self.a.choice(p, d);
        }
        if !self.is_nullable(p) {
            let needs = self.requirements(Step::Child, p);
            let mut values = Vec::new();
            self.text_patterns(p, &mut values, &mut BTreeSet::new());
            let message = if !values.is_empty() {
                format!("needs a value: expected {}", self.describe_values(&values))
            } else if needs.iter().all(|s| s.is_empty()) {
                "the content is incomplete".to_string()
            } else {
                needs_message("element", &needs)
            };
            f.problems
                .push(problem(ProblemKind::MissingElement, None, message));
        }
        f
    }

    fn record_ids(&self, x: &Element, name: &str, value: &str, cand: P, f: &mut Findings) {
        let Pat::Attribute(_, v) = *self.a.pat(cand) else {
            return;
        };
        let dt = match *self.a.pat(self.a.deref(v)) {
            Pat::Data(dt) => dt,
            _ => return,
        };
        let refs: Vec<&str> = match dt {
            Datatype::Id => {
                f.ids.push(IdDef {
                    value: collapse(value),
                    element: x.name.clone(),
                    pos: x.pos,
                });
                return;
            }
            Datatype::IdRef => vec![value.trim()],
            Datatype::IdRefs => value.split_ascii_whitespace().collect(),
            _ => return,
        };
        for r in refs {
            f.refs.push(IdRef {
                value: r.to_string(),
                element: x.name.clone(),
                element_id: x.id().map(str::to_string),
                attribute: name.to_string(),
                pos: x.pos,
            });
        }
    }
}

/// Whether a name class matches `name` (any name when `None`).
fn matches_name(nc: &NameClass, name: Option<&str>) -> bool {
    match name {
        None => true,
        Some(n) => nc.contains(n),
    }
}

fn value_matches(token: bool, expected: &str, v: &str) -> bool {
    if token {
        collapse(expected) == collapse(v)
    } else {
        expected == v
    }
}

/// An attribute value as it may be shown in a message: secrets hidden,
/// long values cut.
fn shown_value(x: &Element, attr: &str, value: &str) -> String {
    let secret =
        is_secret_name(attr) || (attr == "value" && x.attr("name").is_some_and(is_secret_name));
    if secret {
        return "(hidden)".to_string();
    }
    let mut s: String = value.chars().take(60).collect();
    if value.chars().count() > 60 {
        s.push('…');
    }
    s
}

/// At most a dozen items: the first ten, an ellipsis and the last.
fn shorten(items: &[String]) -> Vec<String> {
    if items.len() <= 12 {
        return items.to_vec();
    }
    let mut v = items[..10].to_vec();
    v.push("…".to_string());
    v.push(items[items.len() - 1].clone());
    v
}

/// "a", "a or b", "a, b or c"
fn or_list(items: &[String]) -> String {
    join_list(items, "or")
}

fn and_list(items: &[String]) -> String {
    join_list(items, "and")
}

fn join_list(items: &[String], word: &str) -> String {
    match items {
        [] => "nothing".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

/// "needs attribute 'interval'", "needs attributes 'class' and 'type', or
/// attribute 'template'", "needs element <primitive>"
fn needs_message(what: &str, alts: &[BTreeSet<String>]) -> String {
    let quote = |n: &String| {
        if what == "element" {
            format!("<{n}>")
        } else {
            format!("'{n}'")
        }
    };
    let alts: Vec<&BTreeSet<String>> = alts.iter().filter(|s| !s.is_empty()).collect();
    if alts.is_empty() {
        return format!("the {what}s do not match any allowed combination");
    }
    if alts.iter().all(|s| s.len() == 1) {
        let names: Vec<String> = alts.iter().flat_map(|s| s.iter().map(quote)).collect();
        return if names.len() == 1 {
            format!("needs {what} {}", names[0])
        } else {
            format!("needs {what} {}", or_list(&names))
        };
    }
    let parts: Vec<String> = alts
        .iter()
        .map(|s| {
            let names: Vec<String> = s.iter().map(quote).collect();
            if names.len() == 1 {
                format!("{what} {}", names[0])
            } else {
                format!("{what}s {}", and_list(&names))
            }
        })
        .collect();
    format!("needs {}", parts.join(", or "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validates a small document against a one-file schema.
    fn run(schema: &str, doc: &str) -> Vec<String> {
        let files = [("t.rng", schema)];
        let s = Schema::compile(&files, "t.rng").unwrap();
        let root = xml::parse_element(doc).unwrap();
        let lines = LineIndex::new(doc);
        s.validate(&root)
            .all_problems()
            .iter()
            .map(|p| p.to_diagnostic("t.xml", &lines).to_string())
            .collect()
    }

    const G: &str = r#"<grammar xmlns="http://relaxng.org/ns/structure/1.0"
        datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes">"#;

    fn grammar(body: &str) -> String {
        format!("{G}{body}</grammar>")
    }

    #[test]
    fn the_embedded_schema_compiles() {
        let s = cib();
        assert!(s.arena.defs.len() > 40, "{} defines", s.arena.defs.len());
    }

    #[test]
    fn group_order_and_missing_elements() {
        let s = grammar(
            r#"<start><element name="a"><element name="b"><empty/></element>
               <element name="c"><empty/></element></element></start>"#,
        );
        assert!(run(&s, "<a><b/><c/></a>").is_empty());
        assert_eq!(
            run(&s, "<a><c/><b/></a>"),
            vec![
                "t.xml:1: error: <a>: needs element <c>",
                "t.xml:1: error: <a>: element <c> is not allowed here: expected b",
            ]
        );
        assert_eq!(
            run(&s, "<a>\n<b/></a>"),
            vec!["t.xml:1: error: <a>: needs element <c>"]
        );
    }

    #[test]
    fn interleave_takes_any_order() {
        let s = grammar(
            r#"<start><element name="a"><interleave>
               <element name="b"><empty/></element>
               <zeroOrMore><element name="c"><empty/></element></zeroOrMore>
               </interleave></element></start>"#,
        );
        assert!(run(&s, "<a><c/><b/><c/></a>").is_empty());
        assert_eq!(
            run(&s, "<a><c/><b/><b/></a>"),
            vec!["t.xml:1: error: <a>: element <b> is not allowed here: expected c"]
        );
    }

    #[test]
    fn attributes_choices_values_and_data() {
        let s = grammar(
            r#"<start><element name="p">
                 <attribute name="id"><data type="ID"/></attribute>
                 <choice>
                   <group><attribute name="class"><value>ocf</value></attribute>
                          <attribute name="provider"/></group>
                   <attribute name="class"><choice><value>lsb</value><value>systemd</value></choice></attribute>
                 </choice>
                 <optional><attribute name="n"><data type="integer"/></attribute></optional>
               </element></start>"#,
        );
        assert!(run(&s, r#"<p id="x" class="ocf" provider="heartbeat"/>"#).is_empty());
        assert!(run(&s, r#"<p id="x" class=" lsb "/>"#).is_empty());
        assert_eq!(
            run(&s, r#"<p id="x" class="ocf"/>"#),
            vec!["t.xml:1: error: p 'x': needs attribute 'provider'"]
        );
        assert_eq!(
            run(&s, r#"<p id="x" class="ocff" n="1x"/>"#),
            vec![
                "t.xml:1: error: p 'x': attribute 'class' is 'ocff': expected one of ocf, lsb, systemd",
                "t.xml:1: error: p 'x': attribute 'n' is '1x': expected an integer",
            ]
        );
        assert_eq!(
            run(&s, r#"<p id="x" class="lsb" provider="h"/>"#),
            vec!["t.xml:1: error: p 'x': attribute 'provider' cannot be combined with 'class'"]
        );
        assert_eq!(
            run(&s, r#"<p id="x" class="lsb" colour="red"/>"#),
            vec!["t.xml:1: error: p 'x': unknown attribute 'colour': expected id, class, provider or n"]
        );
        assert_eq!(
            run(&s, r#"<p id="1x" class="lsb"/>"#),
            vec!["t.xml:1: error: p '1x': attribute 'id' is '1x': expected an XML name (letters, digits, '_', '-', '.'; not starting with a digit, '-' or '.')"]
        );
        assert_eq!(
            run(&s, r#"<p/>"#),
            vec!["t.xml:1: error: <p>: needs attributes 'class' and 'id'"]
        );
    }

    #[test]
    fn ids_are_unique_and_idrefs_resolve() {
        let s = grammar(
            r#"<start><element name="a"><zeroOrMore><choice>
                 <element name="d"><attribute name="id"><data type="ID"/></attribute></element>
                 <element name="r"><attribute name="to"><data type="IDREF"/></attribute></element>
               </choice></zeroOrMore></element></start>"#,
        );
        assert!(run(&s, r#"<a><r to="x"/><d id="x"/></a>"#).is_empty());
        assert_eq!(
            run(&s, "<a>\n<d id=\"x\"/>\n<d id=\"x\"/>\n<r to=\"y\"/></a>"),
            vec![
                "t.xml:3: error: d 'x': id 'x' is already used by <d> on line 2",
                "t.xml:4: error: <r>: attribute 'to' refers to 'y', which is not the id of anything in the document",
            ]
        );
    }

    #[test]
    fn recursion_through_elements_and_open_content() {
        let s = grammar(
            r#"<start><ref name="rule"/></start>
               <define name="rule"><element name="rule">
                 <oneOrMore><choice><ref name="rule"/><element name="e"><empty/></element></choice></oneOrMore>
               </element></define>"#,
        );
        assert!(run(&s, "<rule><rule><e/></rule><e/></rule>").is_empty());
        assert_eq!(
            run(&s, "<rule><rule/></rule>"),
            vec!["t.xml:1: error: <rule>: needs element <e> or <rule>"]
        );
        let open = grammar(
            r#"<start><element name="s"><ref name="any"/></element></start>
               <define name="any"><zeroOrMore><choice>
                 <attribute><anyName/></attribute>
                 <element><anyName/><ref name="any"/></element><text/>
               </choice></zeroOrMore></define>"#,
        );
        assert!(run(&open, r#"<s a="1"><x b="2">t<y/></x>more</s>"#).is_empty());
    }

    #[test]
    fn text_and_data_content() {
        let s = grammar(
            r#"<start><element name="a"><element name="n"><data type="positiveInteger"/></element>
               <element name="e"><empty/></element></element></start>"#,
        );
        assert!(run(&s, "<a><n> 5 </n><e/></a>").is_empty());
        assert_eq!(
            run(&s, "<a><n>0</n><e>x</e></a>"),
            vec![
                "t.xml:1: error: <n>: the content is '0': expected a positive integer",
                "t.xml:1: error: <e>: text is not allowed here: 'x'",
            ]
        );
    }

    #[test]
    fn unsupported_constructs_do_not_compile() {
        for body in [
            r#"<start><element name="a"><list><text/></list></element></start>"#,
            r#"<start><element name="a"><data type="date"/></element></start>"#,
            r#"<start><ref name="nope"/></start>"#,
            r#"<start><ref name="x"/></start><define name="x"><ref name="x"/></define>"#,
        ] {
            assert!(
                Schema::compile(&[("t.rng", &grammar(body))], "t.rng").is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn secrets_are_never_shown() {
        let s = grammar(
            r#"<start><element name="a"><attribute name="name"/>
               <attribute name="value"><data type="integer"/></attribute></element></start>"#,
        );
        let out = run(&s, r#"<a name="ipmi_passwd" value="hunter2"/>"#);
        assert_eq!(
            out,
            vec!["t.xml:1: error: <a>: attribute 'value' is '(hidden)': expected an integer"]
        );
    }
}
