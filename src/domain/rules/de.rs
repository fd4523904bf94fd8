//! serde over the positioned YAML tree of [`crate::domain::yaml`]: rule files, the
//! fork schedule and rule tests are deserialized straight from [`Node`]s, so
//! every error carries the line and column of the node it is about (the
//! unknown key itself, the value of the wrong type, the mapping that lacks a
//! field).
//!
//! Scalars are typed by what the target asks for: a plain `25.10` read into a
//! `String` stays `"25.10"`, into an `f64` it is a number. Only
//! `deserialize_any` (untagged data) resolves plain scalars YAML-1.2 style.
//! Duplicate keys are errors. Anchors and aliases are resolved by the tree;
//! merge keys (`<<`) are not supported in these files (an unknown field).
//!
//! Pure: takes a tree, returns values. Never panics on any tree.

use std::collections::HashSet;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use chrono::{DateTime, Utc};

use crate::domain::yaml::{Node, Style, Value};

/// An RFC 3339 instant (`2025-12-03T21:49:11Z`), with an error that says
/// what was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant(pub DateTime<Utc>);

impl<'de> de::Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Instant(t.with_timezone(&Utc)))
            .map_err(|_| {
                de::Error::custom(format!(
                    "invalid date-time {s:?}: expected RFC 3339 such as 2025-12-03T21:49:11Z"
                ))
            })
    }
}

/// A deserialization error at a 1-based position (when known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl DeError {
    fn at(mut self, node: &Node) -> Self {
        if self.line.is_none() {
            self.line = Some(node.line);
            self.column = Some(node.column);
        }
        self
    }

    fn new_at(node: &Node, message: impl Into<String>) -> Self {
        DeError {
            line: Some(node.line),
            column: Some(node.column),
            message: message.into(),
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            line: None,
            column: None,
            message: msg.to_string(),
        }
    }
}

/// Deserializes `T` from a node.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &Node) -> Result<T, DeError> {
    T::deserialize(NodeDe { node }).map_err(|e| e.at(node))
}

/// What a node is, in serde's words, for type errors.
fn unexpected(node: &Node) -> de::Unexpected<'_> {
    match &node.value {
        Value::Scalar(_) if is_null(node) => de::Unexpected::Unit,
        Value::Scalar(s) => de::Unexpected::Str(&s.value),
        Value::Seq(_) => de::Unexpected::Seq,
        Value::Map(_) => de::Unexpected::Map,
    }
}

/// A plain `~`, `null` or nothing.
fn is_null(node: &Node) -> bool {
    node.scalar().is_some_and(|s| {
        s.style == Style::Plain && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
    })
}

fn plain(node: &Node) -> Option<&str> {
    node.scalar()
        .filter(|s| s.style == Style::Plain)
        .map(|s| s.value.as_str())
}

struct NodeDe<'a> {
    node: &'a Node,
}

impl NodeDe<'_> {
    fn scalar_text(&self) -> Option<&str> {
        self.node.scalar().map(|s| s.value.as_str())
    }

    fn type_error(&self, expected: &dyn de::Expected) -> DeError {
        let e: DeError = de::Error::invalid_type(unexpected(self.node), expected);
        e.at(self.node)
    }
}

macro_rules! int {
    ($name:ident, $visit:ident, $ty:ty) => {
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let node = self.node;
            match plain(node).and_then(|s| s.replace('_', "").parse::<$ty>().ok()) {
                Some(n) => visitor.$visit::<DeError>(n).map_err(|e| e.at(node)),
                None => Err(self.type_error(&visitor)),
            }
        }
    };
}

impl<'de> Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.node;
        let r = match &node.value {
            Value::Seq(items) => visitor.visit_seq(Seq {
                items: items.iter(),
            }),
            Value::Map(entries) => visitor.visit_map(Map::new(entries)),
            Value::Scalar(s) if s.style != Style::Plain => visitor.visit_str::<DeError>(&s.value),
            Value::Scalar(s) => {
                let v = s.value.as_str();
                if is_null(node) {
                    visitor.visit_unit::<DeError>()
                } else if v == "true" || v == "True" || v == "TRUE" {
                    visitor.visit_bool::<DeError>(true)
                } else if v == "false" || v == "False" || v == "FALSE" {
                    visitor.visit_bool::<DeError>(false)
                } else if let Ok(n) = v.parse::<u64>() {
                    visitor.visit_u64::<DeError>(n)
                } else if let Ok(n) = v.parse::<i64>() {
                    visitor.visit_i64::<DeError>(n)
                } else {
                    visitor.visit_str::<DeError>(v)
                }
            }
        };
        r.map_err(|e| e.at(node))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.node;
        match plain(node) {
            Some("true" | "True" | "TRUE") => {
                visitor.visit_bool::<DeError>(true).map_err(|e| e.at(node))
            }
            Some("false" | "False" | "FALSE") => {
                visitor.visit_bool::<DeError>(false).map_err(|e| e.at(node))
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

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.node;
        match plain(node).and_then(|s| s.parse::<f64>().ok()) {
            Some(n) => visitor.visit_f64::<DeError>(n).map_err(|e| e.at(node)),
            None => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.node;
        match self.scalar_text() {
            Some(_) if is_null(node) => Err(self.type_error(&visitor)),
            Some(s) => visitor.visit_str::<DeError>(s).map_err(|e| e.at(node)),
            None => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.node;
        if is_null(node) {
            visitor.visit_none::<DeError>().map_err(|e| e.at(node))
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.node;
        if is_null(node) {
            visitor.visit_unit::<DeError>().map_err(|e| e.at(node))
        } else {
            Err(self.type_error(&visitor))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
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
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.node;
        match &node.value {
            Value::Map(entries) => visitor.visit_map(Map::new(entries)).map_err(|e| e.at(node)),
            _ => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let node = self.node;
        match &node.value {
            Value::Scalar(s) if !is_null(node) => visitor
                .visit_enum(s.value.as_str().into_deserializer())
                .map_err(|e: DeError| e.at(node)),
            Value::Map(entries) if entries.len() == 1 => {
                let (k, v) = &entries[0];
                visitor
                    .visit_enum(Variant { key: k, value: v })
                    .map_err(|e| e.at(node))
            }
            _ => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit::<DeError>()
    }
}

struct Seq<'a> {
    items: std::slice::Iter<'a, Node>,
}

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some(node) => seed
                .deserialize(NodeDe { node })
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
    value: Option<&'a Node>,
    seen: HashSet<&'a str>,
}

impl<'a> Map<'a> {
    fn new(entries: &'a [(Node, Node)]) -> Self {
        Map {
            entries: entries.iter(),
            value: None,
            seen: HashSet::new(),
        }
    }
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((k, v)) = self.entries.next() else {
            return Ok(None);
        };
        if let Some(text) = k.scalar().map(|s| s.value.as_str())
            && !self.seen.insert(text)
        {
            return Err(DeError::new_at(k, format!("duplicate key `{text}`")));
        }
        self.value = Some(v);
        seed.deserialize(NodeDe { node: k })
            .map(Some)
            .map_err(|e| e.at(k))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(node) => seed.deserialize(NodeDe { node }).map_err(|e| e.at(node)),
            None => Err(de::Error::custom("value without a key")),
        }
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
    type Error = DeError;
    type Variant = NodeDe<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let v = seed
            .deserialize(NodeDe { node: self.key })
            .map_err(|e| e.at(self.key))?;
        Ok((v, NodeDe { node: self.value }))
    }
}

impl<'de> VariantAccess<'de> for NodeDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        if is_null(self.node) {
            Ok(())
        } else {
            Err(DeError::new_at(
                self.node,
                "expected no value for this variant",
            ))
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let node = self.node;
        seed.deserialize(self).map_err(|e| e.at(node))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
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
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case")]
    enum Kind {
        Upgrade,
        BlobParameters,
    }

    fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, DeError> {
        let docs = crate::domain::yaml::parse(text, 0).unwrap();
        from_node(&docs[0])
    }

    fn pos(e: &DeError) -> (usize, usize) {
        (e.line.unwrap(), e.column.unwrap())
    }

    #[test]
    fn values_are_typed_by_the_target() {
        let t: T =
            parse("name: 25.10\ncount: 3\ntags: [1.0, x]\nmap: {a: 1}\nkind: blob-parameters\n")
                .unwrap();
        assert_eq!(t.name, "25.10");
        assert_eq!(t.count, Some(3));
        assert_eq!(t.tags, ["1.0", "x"]);
        assert_eq!(t.map["a"], 1);
        assert_eq!(t.kind, Some(Kind::BlobParameters));
        let t: T = parse("name: x\ncount: ~\n").unwrap();
        assert_eq!(t.count, None);
    }

    #[test]
    fn errors_point_at_the_node() {
        let e = parse::<T>("name: x\ncolour: red\n").unwrap_err();
        assert_eq!(pos(&e), (2, 1));
        assert!(e.message.starts_with("unknown field `colour`"), "{e}");
        let e = parse::<T>("name: x\ncount: many\n").unwrap_err();
        assert_eq!(pos(&e), (2, 8));
        assert!(e.message.contains("invalid type"), "{e}");
        let e = parse::<T>("count: 1\n").unwrap_err();
        assert_eq!(pos(&e), (1, 1));
        assert_eq!(e.message, "missing field `name`");
        let e = parse::<T>("name: x\ntags:\n  - a\n  - [b]\n").unwrap_err();
        assert_eq!(pos(&e), (4, 5));
        let e = parse::<T>("name: x\nkind: fork\n").unwrap_err();
        assert_eq!(pos(&e), (2, 7));
        assert!(e.message.contains("unknown variant"), "{e}");
        let e = parse::<T>("name: x\nname: y\n").unwrap_err();
        assert_eq!(pos(&e), (2, 1));
        assert_eq!(e.message, "duplicate key `name`");
        let e = parse::<T>("name:\n").unwrap_err();
        assert!(e.message.contains("invalid type: unit value"), "{e}");
        let e = parse::<T>("[1, 2]\n").unwrap_err();
        assert_eq!(pos(&e), (1, 1));
    }
}
