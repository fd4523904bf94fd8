//! serde over the positioned tree: any `#[derive(Deserialize)]` type is read
//! straight from a [`Node`], and every error carries the line and column of
//! the node it is about: the unknown key itself, the value of the wrong type
//! or that a custom `Deserialize` impl refused, the mapping that lacks a
//! field (an empty value, `key:` and nothing, is pointed at by its key).
//!
//! Scalars are typed by what the target asks for: a plain `25.10` read into a
//! `String` stays `"25.10"`, into an `f64` it is a number. Only
//! `deserialize_any` (untagged data) resolves plain scalars YAML-1.2 style.
//! Duplicate keys are errors. Anchors and aliases are resolved by the tree
//! (which bounds nesting and alias expansion, so no walk here runs away);
//! merge keys (`<<`) are not supported (an unknown field). [`Spanned`] keeps
//! the position of a value for checks made after deserialization.
//!
//! Pure: takes a tree, returns values. Never panics on any tree.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::{Node, Style, Value};
use crate::domain::located::Located;

/// Deserializes `T` from `node`; an error is located in `file`.
pub fn from_node<T: DeserializeOwned>(file: &str, node: &Node) -> Result<T, Located> {
    T::deserialize(Deserializer::new(node)).map_err(|e| e.at(node).located(file))
}

/// A deserialization error at a 1-based position (when known). Use
/// [`Error::located`] to name the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl Error {
    /// The position of `node`, unless the error already has one (the
    /// innermost node wins).
    pub fn at(mut self, node: &Node) -> Self {
        if self.line.is_none() {
            self.line = Some(node.line);
            self.column = Some(node.column);
        }
        self
    }

    fn new_at(node: &Node, message: impl Into<String>) -> Self {
        Error {
            line: Some(node.line),
            column: Some(node.column),
            message: message.into(),
        }
    }

    /// The error as a [`Located`] in `file`.
    pub fn located(self, file: &str) -> Located {
        Located {
            file: file.to_string(),
            line: self.line,
            column: self.column,
            message: self.message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            line: None,
            column: None,
            message: msg.to_string(),
        }
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        de::Error::custom(format!(
            "invalid type: {}, expected {}",
            found(&unexp),
            expected(exp)
        ))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        de::Error::custom(format!(
            "invalid value: {}, expected {}",
            found(&unexp),
            expected(exp)
        ))
    }
}

/// serde's words for what was found, with YAML's word for null.
fn found(unexp: &de::Unexpected<'_>) -> String {
    match unexp {
        de::Unexpected::Unit | de::Unexpected::Option => "null (an empty value)".to_string(),
        other => other.to_string(),
    }
}

/// serde's words for what was expected, with Rust's type names said in
/// words (`u32` is "a non-negative integer", `struct X` "a mapping").
fn expected(exp: &dyn de::Expected) -> String {
    let e = exp.to_string();
    match e.as_str() {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer".to_string(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a borrowed string" => "a string".to_string(),
        s if s.starts_with("struct ") => "a mapping".to_string(),
        _ => e,
    }
}

/// What a node is, in serde's words, for type errors: a plain scalar is
/// described as YAML 1.2 reads it (`1` an integer, `true` a boolean).
fn unexpected(node: &Node) -> de::Unexpected<'_> {
    match &node.value {
        Value::Scalar(_) if is_null(node) => de::Unexpected::Unit,
        Value::Scalar(s) if s.style == Style::Plain => {
            let v = s.value.as_str();
            match v {
                "true" | "True" | "TRUE" => de::Unexpected::Bool(true),
                "false" | "False" | "FALSE" => de::Unexpected::Bool(false),
                _ => {
                    if let Ok(n) = v.parse::<u64>() {
                        de::Unexpected::Unsigned(n)
                    } else if let Ok(n) = v.parse::<i64>() {
                        de::Unexpected::Signed(n)
                    } else if let Some(f) = v
                        .parse::<f64>()
                        .ok()
                        .filter(|_| v.bytes().any(|b| b.is_ascii_digit()))
                    {
                        de::Unexpected::Float(f)
                    } else {
                        de::Unexpected::Str(v)
                    }
                }
            }
        }
        Value::Scalar(s) => de::Unexpected::Str(&s.value),
        Value::Seq(_) => de::Unexpected::Seq,
        Value::Map(_) => de::Unexpected::Map,
    }
}

/// A plain `~`, `null` or nothing.
pub fn is_null(node: &Node) -> bool {
    node.scalar().is_some_and(|s| {
        s.style == Style::Plain && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
    })
}

/// A plain scalar with nothing in it (`key:` and no value).
fn is_empty(node: &Node) -> bool {
    node.scalar()
        .is_some_and(|s| s.style == Style::Plain && s.value.is_empty())
}

fn plain(node: &Node) -> Option<&str> {
    node.scalar()
        .filter(|s| s.style == Style::Plain)
        .map(|s| s.value.as_str())
}

/// A serde `Deserializer` over one node of the positioned tree.
pub struct Deserializer<'a> {
    node: &'a Node,
}

impl<'a> Deserializer<'a> {
    pub fn new(node: &'a Node) -> Self {
        Deserializer { node }
    }

    fn scalar_text(&self) -> Option<&str> {
        self.node.scalar().map(|s| s.value.as_str())
    }

    fn type_error(&self, expected: &dyn de::Expected) -> Error {
        let e: Error = de::Error::invalid_type(unexpected(self.node), expected);
        e.at(self.node)
    }
}

macro_rules! int {
    ($name:ident, $visit:ident, $ty:ty) => {
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let node = self.node;
            let text = plain(node).map(|s| s.replace('_', ""));
            let r = match text.as_deref() {
                Some(s) => match s.parse::<$ty>() {
                    Ok(n) => visitor.$visit::<Error>(n),
                    // out of range or of sign: the visitor says what it wants
                    Err(_) => match (s.parse::<i64>(), s.parse::<u64>()) {
                        (Ok(n), _) => visitor.visit_i64::<Error>(n),
                        (_, Ok(n)) => visitor.visit_u64::<Error>(n),
                        _ => return Err(self.type_error(&visitor)),
                    },
                },
                None => return Err(self.type_error(&visitor)),
            };
            r.map_err(|e| e.at(node))
        }
    };
}

impl<'de> de::Deserializer<'de> for Deserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        let r = match &node.value {
            Value::Seq(items) => visitor.visit_seq(Seq {
                items: items.iter(),
            }),
            Value::Map(entries) => visitor.visit_map(Map::new(entries)),
            Value::Scalar(s) if s.style != Style::Plain => visitor.visit_str::<Error>(&s.value),
            Value::Scalar(s) => {
                let v = s.value.as_str();
                if is_null(node) {
                    visitor.visit_unit::<Error>()
                } else if v == "true" || v == "True" || v == "TRUE" {
                    visitor.visit_bool::<Error>(true)
                } else if v == "false" || v == "False" || v == "FALSE" {
                    visitor.visit_bool::<Error>(false)
                } else if let Ok(n) = v.parse::<u64>() {
                    visitor.visit_u64::<Error>(n)
                } else if let Ok(n) = v.parse::<i64>() {
                    visitor.visit_i64::<Error>(n)
                } else {
                    visitor.visit_str::<Error>(v)
                }
            }
        };
        r.map_err(|e| e.at(node))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        match plain(node) {
            Some("true" | "True" | "TRUE") => {
                visitor.visit_bool::<Error>(true).map_err(|e| e.at(node))
            }
            Some("false" | "False" | "FALSE") => {
                visitor.visit_bool::<Error>(false).map_err(|e| e.at(node))
            }
            _ => Err(self.type_error(&visitor)),
        }
    }

    int!(deserialize_i8, visit_i8, i8);
    int!(deserialize_i16, visit_i16, i16);
    int!(deserialize_i32, visit_i32, i32);
    int!(deserialize_i64, visit_i64, i64);
    int!(deserialize_u8, visit_u8, u8);
    int!(deserialize_u16, visit_u16, u16);
    int!(deserialize_u32, visit_u32, u32);
    int!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        match plain(node).and_then(|s| s.parse::<f64>().ok()) {
            Some(n) => visitor.visit_f64::<Error>(n).map_err(|e| e.at(node)),
            None => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        match self.scalar_text() {
            Some(_) if is_null(node) => Err(self.type_error(&visitor)),
            Some(s) => visitor.visit_str::<Error>(s).map_err(|e| e.at(node)),
            None => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        if is_null(node) {
            visitor.visit_none::<Error>().map_err(|e| e.at(node))
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        if is_null(node) {
            visitor.visit_unit::<Error>().map_err(|e| e.at(node))
        } else {
            Err(self.type_error(&visitor))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        match &node.value {
            Value::Seq(items) => visitor
                .visit_seq(Seq {
                    items: items.iter(),
                })
                .map_err(|e| e.at(node)),
            _ => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let node = self.node;
        match &node.value {
            Value::Map(entries) => visitor.visit_map(Map::new(entries)).map_err(|e| e.at(node)),
            _ => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED {
            return visitor.visit_map(SpanAccess {
                node: self.node,
                step: 0,
            });
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node;
        match &node.value {
            Value::Scalar(s) if !is_null(node) => visitor
                .visit_enum(s.value.as_str().into_deserializer())
                .map_err(|e: Error| e.at(node)),
            Value::Map(entries) if entries.len() == 1 => {
                let (k, v) = &entries[0];
                visitor
                    .visit_enum(Variant { key: k, value: v })
                    .map_err(|e| e.at(node))
            }
            _ => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit::<Error>()
    }
}

struct Seq<'a> {
    items: std::slice::Iter<'a, Node>,
}

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            None => Ok(None),
            Some(node) => seed
                .deserialize(Deserializer { node })
                .map(Some)
                .map_err(|e| e.at(node)),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    entry: Option<&'a (Node, Node)>,
    seen: HashMap<&'a str, &'a Node>,
}

impl<'a> Map<'a> {
    fn new(entries: &'a [(Node, Node)]) -> Self {
        Map {
            entries: entries.iter(),
            entry: None,
            seen: HashMap::new(),
        }
    }
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        let k = &entry.0;
        if let Some(text) = k.scalar().map(|s| s.value.as_str()) {
            if let Some(first) = self.seen.get(text) {
                return Err(Error::new_at(
                    k,
                    format!(
                        "duplicate field `{text}` (first at line {}, column {})",
                        first.line, first.column
                    ),
                ));
            }
            self.seen.insert(text, k);
        }
        self.entry = Some(entry);
        seed.deserialize(Deserializer { node: k })
            .map(Some)
            .map_err(|e| e.at(k))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some((key, node)) = self.entry.take() else {
            return Err(de::Error::custom("value without a key"));
        };
        seed.deserialize(Deserializer { node }).map_err(|e| {
            // `key:` and nothing: the empty scalar's position is wherever
            // the next token is, so point at the key.
            let here = (e.line, e.column) == (Some(node.line), Some(node.column));
            if is_empty(node) && (here || e.line.is_none()) {
                Error::new_at(key, e.message)
            } else {
                e.at(node)
            }
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct Variant<'a> {
    key: &'a Node,
    value: &'a Node,
}

impl<'de, 'a> EnumAccess<'de> for Variant<'a> {
    type Error = Error;
    type Variant = Deserializer<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Error> {
        let v = seed
            .deserialize(Deserializer { node: self.key })
            .map_err(|e| e.at(self.key))?;
        Ok((v, Deserializer { node: self.value }))
    }
}

impl<'de> VariantAccess<'de> for Deserializer<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        if is_null(self.node) {
            Ok(())
        } else {
            Err(Error::new_at(
                self.node,
                "expected no value for this variant",
            ))
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        let node = self.node;
        seed.deserialize(self).map_err(|e| e.at(node))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

// ---- Spanned ----------------------------------------------------------------

/// The struct name by which [`Spanned`] asks this deserializer for a
/// position (other deserializers see a plain struct and fail).
const SPANNED: &str = "$upkeep::yaml::Spanned";
const SPANNED_FIELDS: &[&str] = &["line", "column", "value"];

/// A value with the 1-based line and column of the node it was read from,
/// for problems found after deserialization. Only this module's
/// deserializer can produce it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub line: usize,
    pub column: usize,
    pub value: T,
}

impl<T> Spanned<T> {
    /// A problem at this value, in `file`.
    pub fn error(&self, file: &str, message: impl Into<String>) -> Located {
        Located::at(file, self.line, self.column, message)
    }
}

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Spanned<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Spanned<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value of a positioned YAML tree")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let line = map.next_entry::<de::IgnoredAny, usize>()?.map(|(_, v)| v);
                let column = map.next_entry::<de::IgnoredAny, usize>()?.map(|(_, v)| v);
                let value = map.next_entry::<de::IgnoredAny, T>()?.map(|(_, v)| v);
                match (line, column, value) {
                    (Some(line), Some(column), Some(value)) => Ok(Spanned {
                        line,
                        column,
                        value,
                    }),
                    _ => Err(de::Error::custom("a position and a value")),
                }
            }
        }
        d.deserialize_struct(SPANNED, SPANNED_FIELDS, V(PhantomData))
    }
}

/// Hands out `line`, `column`, then the value itself.
struct SpanAccess<'a> {
    node: &'a Node,
    step: usize,
}

impl<'de> MapAccess<'de> for SpanAccess<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match SPANNED_FIELDS.get(self.step) {
            Some(name) => seed.deserialize(name.into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let step = self.step;
        self.step += 1;
        match step {
            0 => seed.deserialize((self.node.line as u64).into_deserializer()),
            1 => seed.deserialize((self.node.column as u64).into_deserializer()),
            _ => seed.deserialize(Deserializer { node: self.node }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct T {
        name: String,
        #[serde(default)]
        count: Option<u64>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        map: BTreeMap<String, u32>,
        #[serde(default)]
        kind: Option<Kind>,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        wait: Option<Wait>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        flag: bool,
        #[serde(default)]
        at: Option<Spanned<String>>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case")]
    enum Kind {
        Upgrade,
        BlobParameters,
    }

    /// A duration in seconds written `90s` or `2m`: a custom `Deserialize`
    /// whose error is located at its value.
    #[derive(Debug, PartialEq)]
    struct Wait(u64);

    impl<'de> Deserialize<'de> for Wait {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d)?;
            let (n, unit) = s.split_at(s.len().saturating_sub(1));
            let n: u64 = n
                .parse()
                .map_err(|_| de::Error::custom(format!("invalid duration `{s}`")))?;
            match unit {
                "s" => Ok(Wait(n)),
                "m" => Ok(Wait(n * 60)),
                _ => Err(de::Error::custom(format!("invalid duration `{s}`"))),
            }
        }
    }

    fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Located> {
        let docs = crate::domain::yaml::parse(text, 0).unwrap();
        from_node("f.yml", &docs[0])
    }

    fn err<T: DeserializeOwned + fmt::Debug>(text: &str) -> String {
        parse::<T>(text).unwrap_err().to_string()
    }

    #[test]
    fn values_are_typed_by_the_target() {
        let t: T = parse(
            "name: 25.10\ncount: 3\ntags: [1.0, x]\nmap: {a: 1}\nkind: blob-parameters\ninner:\n  flag: true\n  at: here\nwait: 2m\n",
        )
        .unwrap();
        assert_eq!(t.name, "25.10");
        assert_eq!(t.count, Some(3));
        assert_eq!(t.tags, ["1.0", "x"]);
        assert_eq!(t.map["a"], 1);
        assert_eq!(t.kind, Some(Kind::BlobParameters));
        let inner = t.inner.unwrap();
        assert!(inner.flag);
        let at = inner.at.unwrap();
        assert_eq!((at.line, at.column, at.value.as_str()), (8, 7, "here"));
        assert_eq!(t.wait, Some(Wait(120)));
        let t: T = parse("name: x\ncount: ~\nkind:\n").unwrap();
        assert_eq!((t.count, t.kind), (None, None));
    }

    #[test]
    fn unknown_key_is_at_the_key() {
        assert_eq!(
            err::<T>("name: x\ninner:\n  flag: true\n  colour: red\n"),
            "f.yml:4:3: unknown field `colour`, expected `flag` or `at`"
        );
    }

    #[test]
    fn wrong_type_is_at_the_value() {
        assert_eq!(
            err::<T>("name: x\ncount: many\n"),
            "f.yml:2:8: invalid type: string \"many\", expected a non-negative integer"
        );
        assert_eq!(
            err::<T>("name: x\ncount: -1\n"),
            "f.yml:2:8: invalid value: integer `-1`, expected a non-negative integer"
        );
        assert_eq!(
            err::<T>("name: x\ntags:\n  - a\n  - [b]\n"),
            "f.yml:4:5: invalid type: sequence, expected a string"
        );
        assert_eq!(
            err::<T>("name: x\ninner:\n  flag: 1\n"),
            "f.yml:3:9: invalid type: integer `1`, expected a boolean"
        );
        assert_eq!(
            err::<T>("name: x\ninner: [1]\n"),
            "f.yml:2:8: invalid type: sequence, expected a mapping"
        );
        assert_eq!(
            err::<T>("[1, 2]\n"),
            "f.yml:1:1: invalid type: sequence, expected a mapping"
        );
        // an empty value is pointed at by its key
        assert_eq!(
            err::<T>("name:\ncount: 1\n"),
            "f.yml:1:1: invalid type: null (an empty value), expected a string"
        );
        assert_eq!(
            err::<T>("name: x\nmap:\n  a:\n"),
            "f.yml:3:3: invalid type: null (an empty value), expected a non-negative integer"
        );
    }

    #[test]
    fn missing_field_is_at_the_mapping() {
        assert_eq!(err::<T>("count: 1\n"), "f.yml:1:1: missing field `name`");
        assert_eq!(
            err::<T>("name: x\ninner:\n  at: y\n"),
            "f.yml:3:3: missing field `flag`"
        );
    }

    #[test]
    fn enums_and_custom_errors_are_at_the_value() {
        assert_eq!(
            err::<T>("name: x\nkind: fork\n"),
            "f.yml:2:7: unknown variant `fork`, expected `upgrade` or `blob-parameters`"
        );
        assert_eq!(
            err::<T>("name: x\nwait: 2x\n"),
            "f.yml:2:7: invalid duration `2x`"
        );
        assert_eq!(
            err::<Vec<Wait>>("- 1s\n- soon\n"),
            "f.yml:2:3: invalid duration `soon`"
        );
    }

    #[test]
    fn duplicate_keys_name_the_first() {
        assert_eq!(
            err::<T>("name: x\nname: y\n"),
            "f.yml:2:1: duplicate field `name` (first at line 1, column 1)"
        );
    }

    #[test]
    fn spanned_fails_outside_the_tree() {
        let e = serde_json::from_str::<Spanned<u32>>("1").unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    #[test]
    fn the_deepest_and_most_aliased_trees_deserialize_within_bounds() {
        // 256 levels, the most a tree has, read by `deserialize_any`
        let text = format!("{}x\n", "- ".repeat(crate::domain::yaml::MAX_DEPTH));
        let doc = super::super::parse_one("f.yaml", &text).unwrap().unwrap();
        let mut v: serde_json::Value = from_node("f.yaml", &doc).unwrap();
        for _ in 0..crate::domain::yaml::MAX_DEPTH {
            v = v.as_array().unwrap()[0].clone();
        }
        assert_eq!(v, serde_json::json!("x"));
        // aliases are followed, and never past the bound: a bomb is refused
        // before any deserializer sees it
        let ok = "a: &a [1, 2]\nb: [*a, *a]\n";
        let doc = super::super::parse_one("f.yaml", ok).unwrap().unwrap();
        let v: serde_json::Value = from_node("f.yaml", &doc).unwrap();
        assert_eq!(v["b"], serde_json::json!([[1, 2], [1, 2]]));
        let mut bomb = "a0: &a0 [x]\n".to_string();
        for l in 1..=9 {
            let items = vec![format!("*a{}", l - 1); 9].join(", ");
            bomb.push_str(&format!("a{l}: &a{l} [{items}]\n"));
        }
        let err = super::super::parse_one("f.yaml", &bomb).unwrap_err();
        assert_eq!(err.line, Some(6));
        assert!(
            err.message
                .contains("aliases expand to more than 100000 nodes")
        );
    }
}
