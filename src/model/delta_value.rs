use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::Timestamp;

/// One side's value of a [`Delta`](super::Delta), as it is written in JSON (`null` = absent), kept
/// compactly: a differing entry's times stay [`Timestamp`]s and are written as text only when shown,
/// and a scalar needs no `serde_json::Value` (72 bytes with ordered maps). A million differing files
/// hold two million of these.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum DeltaValue {
    #[default]
    Null,
    Bool(bool),
    Unsigned(u64),
    Text(Box<str>),
    /// Written as RFC 3339 text.
    Time(Timestamp),
    /// Anything else: signed or fractional numbers, arrays, objects.
    Json(Box<Value>),
}

impl DeltaValue {
    /// The value as JSON; borrowed when it is kept as JSON.
    pub fn to_json(&self) -> Cow<'_, Value> {
        Cow::Owned(match self {
            DeltaValue::Null => Value::Null,
            DeltaValue::Bool(b) => Value::Bool(*b),
            DeltaValue::Unsigned(n) => Value::from(*n),
            DeltaValue::Text(text) => Value::String(text.to_string()),
            DeltaValue::Time(time) => Value::String(time.rfc3339()),
            DeltaValue::Json(value) => return Cow::Borrowed(value),
        })
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            DeltaValue::Text(text) => Some(text),
            DeltaValue::Json(value) => value.as_str(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, DeltaValue::Null)
    }
}

/// Equal to the JSON it is written as.
impl PartialEq<Value> for DeltaValue {
    fn eq(&self, other: &Value) -> bool {
        *self.to_json() == *other
    }
}

impl From<Value> for DeltaValue {
    fn from(value: Value) -> DeltaValue {
        match value {
            Value::Null => DeltaValue::Null,
            Value::Bool(b) => DeltaValue::Bool(b),
            Value::Number(n) if n.is_u64() => {
                n.as_u64().map_or(DeltaValue::Null, DeltaValue::Unsigned)
            }
            Value::String(text) => DeltaValue::Text(text.into_boxed_str()),
            other => DeltaValue::Json(Box::new(other)),
        }
    }
}

impl From<Timestamp> for DeltaValue {
    fn from(time: Timestamp) -> DeltaValue {
        DeltaValue::Time(time)
    }
}

impl From<Option<Timestamp>> for DeltaValue {
    fn from(time: Option<Timestamp>) -> DeltaValue {
        time.map_or(DeltaValue::Null, DeltaValue::Time)
    }
}

impl Serialize for DeltaValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DeltaValue::Null => s.serialize_unit(),
            DeltaValue::Bool(b) => s.serialize_bool(*b),
            DeltaValue::Unsigned(n) => s.serialize_u64(*n),
            DeltaValue::Text(text) => s.serialize_str(text),
            DeltaValue::Time(time) => time.serialize(s),
            DeltaValue::Json(value) => value.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_value_is_written_as_the_json_it_was_made_from() {
        let time = Timestamp {
            secs: 1_700_000_000,
            nanos: 5,
        };
        for value in [
            json!(null),
            json!(true),
            json!(7),
            json!(u64::MAX),
            json!(-3),
            json!(1.5),
            json!("sha256:00"),
            json!(["a", 1]),
            json!({"b": 1, "a": 2}),
            json!(time),
        ] {
            let kept = DeltaValue::from(value.clone());
            assert_eq!(*kept.to_json(), value);
            assert_eq!(serde_json::to_string(&kept).unwrap(), value.to_string());
        }
        let time_value = DeltaValue::from(time);
        assert_eq!(*time_value.to_json(), json!(time));
        assert_eq!(
            serde_json::to_string(&time_value).unwrap(),
            json!(time).to_string()
        );
        assert!(DeltaValue::from(None::<Timestamp>).is_null());
    }
}
