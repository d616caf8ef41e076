//! The texts and lists a rule is made of, either read from a rules file (owned) or part of the
//! built-in rules (`build.rs`), which are tables of the binary. A built-in text is a span of
//! one string of all their texts, a built-in list a span of a table: numbers, not pointers, so
//! the built-in rules need no relocation when the program loads. As pointers, their 32,000
//! relocations made the loader copy 180 pages at every start, a tenth of a pre-commit run.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// A text of a rule: borrowed from the binary, or owned when read from a file.
#[derive(Clone)]
pub enum Text {
    /// `len` bytes from `start` of the built-in rules' string (`builtin::STRINGS`).
    Builtin {
        start: u32,
        len: u32,
    },
    Static(&'static str),
    Owned(String),
}

impl Text {
    /// A span of the built-in rules' string; `build.rs` writes only spans that are texts.
    pub const fn builtin(start: u32, len: u32) -> Text {
        Text::Builtin { start, len }
    }

    pub fn into_owned(self) -> String {
        match self {
            Text::Owned(text) => text,
            other => other.to_string(),
        }
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Builtin { start, len } => {
                let start = *start as usize;
                &crate::builtin::STRINGS[start..start + *len as usize]
            }
            Text::Static(text) => text,
            Text::Owned(text) => text,
        }
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::Static("")
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::Owned(text)
    }
}

impl From<&'static str> for Text {
    fn from(text: &'static str) -> Text {
        Text::Static(text)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &**self == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &**self == *other
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &**other
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        String::deserialize(deserializer).map(Text::Owned)
    }
}

/// Items the built-in rules keep in one table, which their lists are spans of.
pub trait Tabled: Sized + 'static {
    fn table() -> &'static [Self];
}

impl Tabled for Text {
    fn table() -> &'static [Text] {
        &crate::builtin::TEXTS
    }
}

/// A list of a rule (its keywords, tags, allowlists…): a span of the built-in table of its
/// items, or owned when read from a file.
#[derive(Clone)]
pub enum List<T: Tabled> {
    Builtin { start: u32, len: u32 },
    Owned(Vec<T>),
}

/// A list of texts.
pub type Texts = List<Text>;

impl<T: Tabled> List<T> {
    /// A span of `T::table()`; `build.rs` writes only spans that are in it.
    pub const fn builtin(start: u32, len: u32) -> List<T> {
        List::Builtin { start, len }
    }
}

impl<T: Tabled + Clone> List<T> {
    /// The list as a vector to change, copied from the binary if it was built in.
    pub fn to_mut(&mut self) -> &mut Vec<T> {
        if let List::Builtin { .. } = self {
            *self = List::Owned(self.to_vec());
        }
        match self {
            List::Owned(items) => items,
            List::Builtin { .. } => unreachable!("made owned above"),
        }
    }
}

impl<T: Tabled> Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            List::Builtin { start, len } => {
                let start = *start as usize;
                &T::table()[start..start + *len as usize]
            }
            List::Owned(items) => items,
        }
    }
}

impl<T: Tabled> Default for List<T> {
    fn default() -> List<T> {
        List::Owned(Vec::new())
    }
}

impl<T: Tabled> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> List<T> {
        List::Owned(items.into_iter().collect())
    }
}

impl<'a, T: Tabled> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Tabled + PartialEq> PartialEq for List<T> {
    fn eq(&self, other: &List<T>) -> bool {
        **self == **other
    }
}

impl<T: Tabled + fmt::Debug> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Tabled + Serialize> Serialize for List<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de, T: Tabled + Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<List<T>, D::Error> {
        Vec::deserialize(deserializer).map(List::Owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_in_list_is_its_span_of_the_table_and_copies_itself_to_change() {
        let mut list: Texts = List::builtin(2, 2);
        assert_eq!(&*list, &Text::table()[2..4]);
        list.to_mut().push(Text::from("more"));
        assert_eq!(list.len(), 3);
        assert_eq!(list[2], "more");
        assert_eq!(&list[..2], &Text::table()[2..4]);
    }
}
