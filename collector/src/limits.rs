//! The size-limit check over a report's inventory or delta: every list's length and every
//! string's size, walked through the part's `Serialize` implementation without building a copy
//! of it (a JSON value of an 800-package inventory costs more than the rest of a report's
//! handling). The error names the first offending field by its path, e.g. `software[812].name`,
//! as the JSON form of the part spells it.

use serde::Serialize;
use serde::ser;

use crate::config::Limits;
use crate::metrics::Limit;

/// Checks `part` against `limits`.
pub fn check<T: Serialize + ?Sized>(part: &T, limits: &Limits) -> Result<(), (Limit, String)> {
    let mut walk = Walk { limits, path: Vec::new() };
    match part.serialize(&mut walk) {
        Ok(()) => Ok(()),
        Err(Stop::Over(limit, message)) => Err((limit, message)),
        Err(Stop::Other(message)) => Err((Limit::SectionItems, message)),
    }
}

enum Seg {
    Field(&'static str),
    Key(String),
    /// A list element; `usize::MAX` before the first.
    Index(usize),
}

struct Walk<'a> {
    limits: &'a Limits,
    path: Vec<Seg>,
}

impl Walk<'_> {
    fn path(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            match seg {
                Seg::Field(name) if out.is_empty() => out.push_str(name),
                Seg::Key(name) if out.is_empty() => out.push_str(name),
                Seg::Field(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Seg::Key(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn list(&mut self, len: Option<usize>) -> Result<(), Stop> {
        if let Some(n) = len.filter(|n| *n > self.limits.max_section_items) {
            return Err(Stop::Over(
                Limit::SectionItems,
                format!("{} has {n} items; limits.max_section_items is {}", self.path(), self.limits.max_section_items),
            ));
        }
        self.path.push(Seg::Index(usize::MAX));
        Ok(())
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        if let Some(Seg::Index(i)) = self.path.last_mut() {
            *i = i.wrapping_add(1);
            if *i >= self.limits.max_section_items {
                // A list that did not say its length up front.
                let n = *i + 1;
                self.path.pop();
                return Err(Stop::Over(
                    Limit::SectionItems,
                    format!(
                        "{} has at least {n} items; limits.max_section_items is {}",
                        self.path(),
                        self.limits.max_section_items
                    ),
                ));
            }
        }
        value.serialize(&mut *self)
    }

    fn field<T: Serialize + ?Sized>(&mut self, seg: Seg, value: &T) -> Result<(), Stop> {
        self.path.push(seg);
        value.serialize(&mut *self)?;
        self.path.pop();
        Ok(())
    }
}

#[derive(Debug)]
enum Stop {
    Over(Limit, String),
    Other(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Over(_, m) | Stop::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Stop::Other(msg.to_string())
    }
}

macro_rules! scalars {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, _: $ty) -> Result<(), Stop> { Ok(()) })*
    };
}

impl ser::Serializer for &mut Walk<'_> {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    scalars!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char);

    fn serialize_str(self, v: &str) -> Result<(), Stop> {
        if v.len() > self.limits.max_string_bytes {
            return Err(Stop::Over(
                Limit::StringLength,
                format!(
                    "{} is {} bytes; limits.max_string_bytes is {}",
                    self.path(),
                    v.len(),
                    self.limits.max_string_bytes
                ),
            ));
        }
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Stop> {
        // JSON spells bytes as a list of numbers.
        self.list(Some(v.len()))?;
        self.path.pop();
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.field(Seg::Field(variant), value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self, Stop> {
        self.list(len)?;
        Ok(self)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self, Stop> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Self, Stop> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, len: usize) -> Result<Self, Stop> {
        self.path.push(Seg::Field(variant));
        self.serialize_seq(Some(len))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, Stop> {
        self.path.push(Seg::Key(String::new()));
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Stop> {
        Ok(self)
    }

    fn serialize_struct_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Self, Stop> {
        self.path.push(Seg::Field(variant));
        Ok(self)
    }
}

/// The list-like compound serializers: each item is a list element; the end closes the list.
macro_rules! lists {
    ($($kind:ident :: $method:ident),*) => {$(
        impl ser::$kind for &mut Walk<'_> {
            type Ok = ();
            type Error = Stop;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
                self.element(value)
            }
            fn end(self) -> Result<(), Stop> {
                self.path.pop();
                Ok(())
            }
        }
    )*};
}

lists!(SerializeSeq::serialize_element, SerializeTuple::serialize_element, SerializeTupleStruct::serialize_field);

impl ser::SerializeTupleVariant for &mut Walk<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        self.path.pop();
        self.path.pop();
        Ok(())
    }
}

impl ser::SerializeMap for &mut Walk<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        // JSON object keys are strings; a key's own size is checked like any string.
        key.serialize(&mut **self)?;
        // Keys are small: their JSON form gives the name (a string key without its quotes).
        let name = match serde_json::to_value(key) {
            Ok(serde_json::Value::String(k)) => k,
            Ok(other) => other.to_string(),
            Err(_) => String::new(),
        };
        if let Some(Seg::Key(k)) = self.path.last_mut() {
            *k = name;
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Stop> {
        self.path.pop();
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Walk<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Stop> {
        self.field(Seg::Field(key), value)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for &mut Walk<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Stop> {
        self.field(Seg::Field(key), value)
    }
    fn end(self) -> Result<(), Stop> {
        self.path.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Part {
        name: String,
        items: Vec<Item>,
        tags: BTreeMap<String, Vec<String>>,
        choice: Option<Choice>,
    }

    #[derive(Serialize)]
    struct Item {
        values: Vec<String>,
    }

    #[derive(Serialize)]
    enum Choice {
        Words(Vec<String>),
    }

    fn limits(items: usize, bytes: usize) -> Limits {
        Limits { max_section_items: items, max_string_bytes: bytes, ..Limits::default() }
    }

    fn part() -> Part {
        let item = |v: &[&str]| Item { values: v.iter().map(|s| s.to_string()).collect() };
        Part {
            name: "web".into(),
            items: vec![item(&["a"]), item(&["b", "ccccc"])],
            tags: BTreeMap::from([("env".to_string(), vec!["production".to_string()])]),
            choice: Some(Choice::Words(vec!["x".into(), "y".into(), "z".into()])),
        }
    }

    #[test]
    fn names_the_first_field_over_a_limit_by_its_json_path() {
        assert_eq!(check(&part(), &limits(3, 100)), Ok(()));
        assert_eq!(
            check(&part(), &limits(3, 4)),
            Err((Limit::StringLength, "items[1].values[1] is 5 bytes; limits.max_string_bytes is 4".into()))
        );
        assert_eq!(
            check(&part(), &limits(2, 100)),
            Err((Limit::SectionItems, "choice.Words has 3 items; limits.max_section_items is 2".into()))
        );
        assert_eq!(
            check(&part(), &limits(3, 9)),
            Err((Limit::StringLength, "tags.env[0] is 10 bytes; limits.max_string_bytes is 9".into()))
        );
        assert_eq!(
            check(&part(), &limits(1, 100)),
            Err((Limit::SectionItems, "items has 2 items; limits.max_section_items is 1".into()))
        );
    }
}
