//! The generic XML layer under the typed CIB: a small element tree for the
//! parts warden does not model (kept verbatim and written back), a pull
//! reader that remembers where each element starts, and a writer.
//!
//! Invariant: no knowledge of what any CIB element means; no IO (text in,
//! text out).

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::fmt::Write as _;

/// Byte offset of an element's start tag in the text it was parsed from.
/// `Pos::NONE` for elements made in memory (by the CLI, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos(pub u32);

impl Pos {
    pub const NONE: Pos = Pos(u32::MAX);

    pub fn is_none(self) -> bool {
        self == Pos::NONE
    }
}

/// Turns byte offsets into 1-based line numbers for diagnostics.
pub struct LineIndex {
    newlines: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let newlines = memchr::memchr_iter(b'\n', text.as_bytes())
            .map(|i| i as u32)
            .collect();
        LineIndex { newlines }
    }

    /// The 1-based line of `pos`, `None` for `Pos::NONE`.
    pub fn line(&self, pos: Pos) -> Option<u32> {
        if pos.is_none() {
            return None;
        }
        Some(self.newlines.partition_point(|&nl| nl < pos.0) as u32 + 1)
    }
}

/// Attributes in document order.
pub type Attrs = Vec<(String, String)>;

/// A node of the generic tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlNode {
    Element(Element),
    Text(String),
    Comment(String),
}

/// A generic element: what warden keeps for elements it does not model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Attrs,
    pub children: Vec<XmlNode>,
    pub pos: Pos,
}

impl Element {
    pub fn new(name: &str) -> Element {
        Element {
            name: name.to_string(),
            attrs: Vec::new(),
            children: Vec::new(),
            pos: Pos::NONE,
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn id(&self) -> Option<&str> {
        self.attr("id")
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            XmlNode::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Every element in this subtree, this one first, in document order.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            let e = out[i];
            // Depth-first order matters less than completeness here; keep it simple.
            out.extend(e.elements());
            i += 1;
        }
        out
    }
}

/// An XML syntax error with the byte position where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// A start tag as the typed parser sees it.
pub struct Start {
    pub name: String,
    pub attrs: Attrs,
    /// `<x/>`: no children follow.
    pub empty: bool,
    pub pos: Pos,
}

impl Start {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A start tag not yet turned into a `Start`, or any other item.
pub enum Raw<'a> {
    Start {
        e: BytesStart<'a>,
        empty: bool,
        pos: Pos,
    },
    Item(Item),
}

/// What the pull reader yields inside an element.
pub enum Item {
    Start(Start),
    Text(String),
    Comment(String),
    End,
}

/// A pull reader over a whole document held in memory.
pub struct XmlReader<'a> {
    reader: Reader<&'a [u8]>,
    /// Set after `<x/>` was returned as a start: the next call yields its end.
    pending_end: bool,
    /// Names of the elements open around the current position.
    open: Vec<String>,
}

impl<'a> XmlReader<'a> {
    pub fn new(text: &'a str) -> XmlReader<'a> {
        let mut reader = Reader::from_str(text);
        reader.config_mut().trim_text(false);
        reader.config_mut().check_end_names = true;
        XmlReader {
            reader,
            pending_end: false,
            open: Vec::new(),
        }
    }

    fn pos(&self) -> Pos {
        Pos(self.reader.buffer_position() as u32)
    }

    fn error(&self, message: String) -> SyntaxError {
        SyntaxError {
            pos: Pos(self.reader.error_position() as u32),
            message,
        }
    }

    pub fn start(&self, e: &BytesStart, empty: bool, pos: Pos) -> Result<Start, SyntaxError> {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| SyntaxError {
                pos,
                message: format!("bad attribute in <{name}>: {err}"),
            })?;
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|err| SyntaxError {
                    pos,
                    message: format!("bad value of attribute '{key}' in <{name}>: {err}"),
                })?
                .into_owned();
            attrs.push((key, value));
        }
        Ok(Start {
            name,
            attrs,
            empty,
            pos,
        })
    }

    /// The root element's start tag (skipping the declaration, comments and
    /// doctype before it).
    pub fn root(&mut self) -> Result<Start, SyntaxError> {
        loop {
            match self.next_item()? {
                Item::Start(s) => return Ok(s),
                Item::Text(t) if t.trim().is_empty() => continue,
                Item::Comment(_) => continue,
                Item::Text(_) => return Err(self.error("text before the root element".into())),
                Item::End => return Err(self.error("the document has no root element".into())),
            }
        }
    }

    /// The next item inside the current element. `End` closes it (or marks
    /// the end of the document at top level). Whitespace-only text is
    /// skipped.
    pub fn next_item(&mut self) -> Result<Item, SyntaxError> {
        match self.next_raw()? {
            Raw::Start { e, empty, pos } => Ok(Item::Start(self.start(&e, empty, pos)?)),
            Raw::Item(i) => Ok(i),
        }
    }

    /// Like `next_item`, but a start tag comes raw, so hot paths can read
    /// its attributes without building an attribute list.
    pub fn next_raw(&mut self) -> Result<Raw<'a>, SyntaxError> {
        if self.pending_end {
            self.pending_end = false;
            return Ok(Raw::Item(Item::End));
        }
        loop {
            let pos = self.pos();
            let ev = self
                .reader
                .read_event()
                .map_err(|e| self.error(format!("{e}")))?;
            match ev {
                Event::Start(e) => {
                    self.open
                        .push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                    return Ok(Raw::Start {
                        e,
                        empty: false,
                        pos,
                    });
                }
                Event::Empty(e) => {
                    self.pending_end = true;
                    return Ok(Raw::Start {
                        e,
                        empty: true,
                        pos,
                    });
                }
                Event::End(_) => {
                    self.open.pop();
                    return Ok(Raw::Item(Item::End));
                }
                Event::Eof => {
                    if let Some(name) = self.open.last() {
                        return Err(SyntaxError {
                            pos: Pos(self.reader.buffer_position() as u32),
                            message: format!(
                                "unexpected end of file: <{name}> is not closed (truncated file?)"
                            ),
                        });
                    }
                    return Ok(Raw::Item(Item::End));
                }
                Event::Text(t) => {
                    if t.iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                    let s = t
                        .decode()
                        .map_err(|e| self.error(format!("{e}")))?
                        .into_owned();
                    let s = quick_xml::escape::unescape(&s)
                        .map_err(|e| self.error(format!("{e}")))?
                        .into_owned();
                    return Ok(Raw::Item(Item::Text(s)));
                }
                Event::GeneralRef(r) => {
                    // An entity reference in text: keep it resolved as text.
                    let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                    let s = quick_xml::escape::unescape(&format!("&{name};"))
                        .map_err(|e| self.error(format!("{e}")))?
                        .into_owned();
                    return Ok(Raw::Item(Item::Text(s)));
                }
                Event::CData(c) => {
                    return Ok(Raw::Item(Item::Text(
                        String::from_utf8_lossy(c.as_ref()).into_owned(),
                    )))
                }
                Event::Comment(c) => {
                    return Ok(Raw::Item(Item::Comment(
                        String::from_utf8_lossy(c.as_ref()).into_owned(),
                    )))
                }
                Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
            }
        }
    }

    /// The attributes of a raw start tag as (name bytes, unescaped value).
    /// Duplicate names are not detected here (the reader's check compares
    /// every pair): the caller must refuse them.
    pub fn raw_attrs<'e>(
        &self,
        e: &'e BytesStart<'a>,
        pos: Pos,
    ) -> impl Iterator<Item = Result<(&'e [u8], std::borrow::Cow<'e, str>), SyntaxError>> + 'e {
        let mut attrs = e.attributes();
        attrs.with_checks(false);
        attrs.map(move |a| {
            let a = a.map_err(|err| SyntaxError {
                pos,
                message: format!("bad attribute: {err}"),
            })?;
            let key: &'e [u8] = a.key.into_inner();
            let value = match a.value {
                std::borrow::Cow::Borrowed(v) => {
                    let v = std::str::from_utf8(v).map_err(|err| SyntaxError {
                        pos,
                        message: format!("attribute value is not UTF-8: {err}"),
                    })?;
                    quick_xml::escape::unescape(v).map_err(|err| SyntaxError {
                        pos,
                        message: format!("bad attribute value: {err}"),
                    })?
                }
                std::borrow::Cow::Owned(v) => {
                    let v = String::from_utf8(v).map_err(|err| SyntaxError {
                        pos,
                        message: format!("attribute value is not UTF-8: {err}"),
                    })?;
                    std::borrow::Cow::Owned(
                        quick_xml::escape::unescape(&v)
                            .map_err(|err| SyntaxError {
                                pos,
                                message: format!("bad attribute value: {err}"),
                            })?
                            .into_owned(),
                    )
                }
            };
            Ok((key, value))
        })
    }

    /// Reads the rest of an element whose start tag was just returned, as a
    /// generic subtree.
    pub fn capture(&mut self, start: Start) -> Result<Element, SyntaxError> {
        let mut el = Element {
            name: start.name,
            attrs: start.attrs,
            children: Vec::new(),
            pos: start.pos,
        };
        loop {
            match self.next_item()? {
                Item::Start(s) => {
                    let child = self.capture(s)?;
                    el.children.push(XmlNode::Element(child));
                }
                Item::Text(t) => {
                    if !t.trim().is_empty() {
                        el.children.push(XmlNode::Text(t));
                    }
                }
                Item::Comment(c) => el.children.push(XmlNode::Comment(c)),
                Item::End => return Ok(el),
            }
        }
    }

    /// Skips the rest of an element.
    pub fn skip(&mut self) -> Result<(), SyntaxError> {
        let mut depth = 0usize;
        loop {
            match self.next_item()? {
                Item::Start(_) => depth += 1,
                Item::End => {
                    if depth == 0 {
                        return Ok(());
                    }
                    depth -= 1;
                }
                _ => {}
            }
        }
    }

    /// After the root element: only whitespace and comments may follow.
    pub fn finish(&mut self) -> Result<(), SyntaxError> {
        loop {
            let ev = self
                .reader
                .read_event()
                .map_err(|e| self.error(format!("{e}")))?;
            match ev {
                Event::Eof => return Ok(()),
                Event::Text(t) if t.iter().all(|b| b.is_ascii_whitespace()) => continue,
                Event::Comment(_) | Event::PI(_) => continue,
                _ => return Err(self.error("content after the root element".into())),
            }
        }
    }
}

/// Parses a whole document into a generic tree.
pub fn parse_element(text: &str) -> Result<Element, SyntaxError> {
    let mut r = XmlReader::new(text);
    let root = r.root()?;
    let el = if root.empty {
        r.next_item()?; // the pending end
        Element {
            name: root.name,
            attrs: root.attrs,
            children: Vec::new(),
            pos: root.pos,
        }
    } else {
        r.capture(root)?
    };
    r.finish()?;
    Ok(el)
}

/// Escapes text for an attribute value (double-quoted).
pub fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// An indenting XML writer (two spaces per level, as Pacemaker writes).
pub struct XmlWriter {
    pub out: String,
    depth: usize,
}

impl Default for XmlWriter {
    fn default() -> Self {
        XmlWriter::new()
    }
}

impl XmlWriter {
    pub fn new() -> XmlWriter {
        XmlWriter {
            out: String::new(),
            depth: 0,
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)], extra: &[(String, String)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_attr(v, &mut self.out);
            self.out.push('"');
        }
        for (k, v) in extra {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_attr(v, &mut self.out);
            self.out.push('"');
        }
    }

    /// `<name a="..">` and one level deeper.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)], extra: &[(String, String)]) {
        self.tag(name, attrs, extra);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    pub fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }

    /// `<name a=".."/>`
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)], extra: &[(String, String)]) {
        self.tag(name, attrs, extra);
        self.out.push_str("/>\n");
    }

    /// Writes a generic element as it was read.
    pub fn element(&mut self, el: &Element) {
        if el.children.is_empty() {
            self.empty(&el.name, &[], &el.attrs);
            return;
        }
        // An element holding only text is written on one line.
        if let [XmlNode::Text(t)] = el.children.as_slice() {
            self.tag(&el.name, &[], &el.attrs);
            self.out.push('>');
            escape_text(t, &mut self.out);
            let _ = writeln!(self.out, "</{}>", el.name);
            return;
        }
        self.open(&el.name, &[], &el.attrs);
        for c in &el.children {
            self.node(c);
        }
        self.close(&el.name);
    }

    pub fn node(&mut self, n: &XmlNode) {
        match n {
            XmlNode::Element(e) => self.element(e),
            XmlNode::Text(t) => {
                self.indent();
                escape_text(t, &mut self.out);
                self.out.push('\n');
            }
            XmlNode::Comment(c) => self.comment(c),
        }
    }

    pub fn comment(&mut self, c: &str) {
        self.indent();
        // "--" may not appear inside a comment; keep the text safe.
        let safe = c.replace("--", "- -");
        let _ = writeln!(self.out, "<!--{safe}-->");
    }
}

/// Attribute-order-insensitive comparison of two trees, ignoring comments
/// and whitespace-only text: what "semantically equal" means for CIB round
/// trips. Returns the first difference found.
pub fn semantic_diff(a: &Element, b: &Element) -> Option<String> {
    fn path_of(path: &str, e: &Element) -> String {
        match e.id() {
            Some(id) => format!("{path}/{}[@id='{id}']", e.name),
            None => format!("{path}/{}", e.name),
        }
    }
    fn walk(a: &Element, b: &Element, path: &str) -> Option<String> {
        let here = path_of(path, a);
        if a.name != b.name {
            return Some(format!("{here}: element <{}> became <{}>", a.name, b.name));
        }
        let mut aa: Vec<_> = a.attrs.iter().collect();
        let mut ba: Vec<_> = b.attrs.iter().collect();
        aa.sort();
        ba.sort();
        if aa != ba {
            return Some(format!("{here}: attributes {aa:?} became {ba:?}"));
        }
        // The order of siblings with different names carries no meaning
        // (operations before or after meta_attributes), except in the lists
        // where elements of several kinds are processed in document order.
        let ordered = matches!(a.name.as_str(), "resources" | "constraints");
        fn sorted_children(e: &Element, ordered: bool) -> Vec<&XmlNode> {
            let mut v: Vec<&XmlNode> = e
                .children
                .iter()
                .filter(|n| !matches!(n, XmlNode::Comment(_)))
                .collect();
            if !ordered {
                v.sort_by_key(|n| match n {
                    XmlNode::Element(e) => e.name.as_str(),
                    _ => "",
                });
            }
            v
        }
        let (ac, bc) = (sorted_children(a, ordered), sorted_children(b, ordered));
        if ac.len() != bc.len() {
            return Some(format!("{here}: {} children became {}", ac.len(), bc.len()));
        }
        for (x, y) in ac.iter().zip(bc.iter()) {
            match (x, y) {
                (XmlNode::Element(x), XmlNode::Element(y)) => {
                    if let Some(d) = walk(x, y, &here) {
                        return Some(d);
                    }
                }
                (XmlNode::Text(x), XmlNode::Text(y)) if x.trim() == y.trim() => {}
                _ => return Some(format!("{here}: child {x:?} became {y:?}")),
            }
        }
        None
    }
    walk(a, b, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_from_one() {
        let idx = LineIndex::new("a\nb\nc");
        assert_eq!(idx.line(Pos(0)), Some(1));
        assert_eq!(idx.line(Pos(2)), Some(2));
        assert_eq!(idx.line(Pos(4)), Some(3));
        assert_eq!(idx.line(Pos::NONE), None);
    }

    #[test]
    fn generic_round_trip_keeps_everything_but_formatting() {
        let text = r#"<?xml version="1.0"?>
<a x="1" y="&lt;&amp;&quot;">
  <!-- note -->
  <b/>
  <c z="2">text &amp; more</c>
</a>"#;
        let el = parse_element(text).unwrap();
        let mut w = XmlWriter::new();
        w.element(&el);
        let again = parse_element(&w.out).unwrap();
        assert_eq!(semantic_diff(&el, &again), None);
        assert_eq!(el.attr("y"), Some("<&\""));
        assert!(w.out.contains("<!-- note -->"));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse_element("<a>\n  <b>\n</a>").unwrap_err();
        assert!(!err.pos.is_none());
        let err = parse_element("<a><b></b>").unwrap_err();
        assert!(err.message.len() > 3, "{err:?}");
    }

    #[test]
    fn semantic_diff_ignores_attribute_order_and_comments() {
        let a = parse_element(r#"<a x="1" y="2"><!--c--><b/></a>"#).unwrap();
        let b = parse_element(r#"<a y="2" x="1"><b/></a>"#).unwrap();
        assert_eq!(semantic_diff(&a, &b), None);
        let c = parse_element(r#"<a y="2" x="3"><b/></a>"#).unwrap();
        assert!(semantic_diff(&a, &c).is_some());
    }
}
