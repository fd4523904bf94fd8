//! What a live system says: the answers of a metrics query, as data.
//!
//! [`crate::io::prometheus`] asks Prometheus and hands back a
//! [`QueryResult`]; the pure core reasons about it (health gates, live
//! verification of a rollout) without knowing where it came from. Values
//! are `f64` as Prometheus keeps them, `NaN` and `±Inf` included: a gate
//! decides what they mean, nothing here hides them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// One point of an instant vector: a series (its labels, `__name__`
/// included when the query keeps it) and its value at `at`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    pub at: DateTime<Utc>,
}

/// One series of a range vector: its labels and its points, oldest first.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// The answer to an instant query, by its result type.
///
/// A health gate wants a [`QueryResult::Vector`] or a
/// [`QueryResult::Scalar`]; a range selector (`up[5m]`) answers a
/// [`QueryResult::Matrix`] and a string literal a [`QueryResult::String`],
/// kept so that the caller can say why such a query cannot gate.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "type", content = "result", rename_all = "snake_case")]
pub enum QueryResult {
    /// `resultType: vector`: one sample per matching series, possibly none.
    Vector(Vec<Sample>),
    /// `resultType: scalar`.
    Scalar(f64),
    /// `resultType: matrix` (a range vector).
    Matrix(Vec<Series>),
    /// `resultType: string`.
    String(String),
}

impl QueryResult {
    /// "No data": the query matched no series (an empty vector, or a matrix
    /// without points). Neither healthy nor unhealthy: a gate waits or
    /// reports it, it never reads it as zero. A scalar or a string always
    /// has data.
    pub fn is_empty(&self) -> bool {
        match self {
            QueryResult::Vector(samples) => samples.is_empty(),
            QueryResult::Matrix(series) => series.iter().all(|s| s.points.is_empty()),
            QueryResult::Scalar(_) | QueryResult::String(_) => false,
        }
    }

    /// The one value of a scalar, or of a vector with exactly one sample
    /// (`sum(…)`, `max(…)`); `None` for no data, several samples, a matrix
    /// or a string. May be `NaN` or infinite.
    pub fn single_value(&self) -> Option<f64> {
        match self {
            QueryResult::Scalar(v) => Some(*v),
            QueryResult::Vector(samples) => match samples.as_slice() {
                [only] => Some(only.value),
                _ => None,
            },
            QueryResult::Matrix(_) | QueryResult::String(_) => None,
        }
    }

    /// The Prometheus name of the result type (`vector`, `scalar`,
    /// `matrix`, `string`), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            QueryResult::Vector(_) => "vector",
            QueryResult::Scalar(_) => "scalar",
            QueryResult::Matrix(_) => "matrix",
            QueryResult::String(_) => "string",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn sample(value: f64) -> Sample {
        Sample {
            labels: BTreeMap::from([("pod".to_string(), "p".to_string())]),
            value,
            at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn no_data_and_single_values() {
        let empty = QueryResult::Vector(vec![]);
        assert!(empty.is_empty());
        assert_eq!(empty.single_value(), None);

        let one = QueryResult::Vector(vec![sample(2.5)]);
        assert!(!one.is_empty());
        assert_eq!(one.single_value(), Some(2.5));

        let two = QueryResult::Vector(vec![sample(1.0), sample(2.0)]);
        assert!(!two.is_empty());
        assert_eq!(two.single_value(), None, "ambiguous");

        let scalar = QueryResult::Scalar(0.0);
        assert!(!scalar.is_empty());
        assert_eq!(scalar.single_value(), Some(0.0));
        assert!(
            QueryResult::Scalar(f64::NAN)
                .single_value()
                .is_some_and(f64::is_nan),
            "NaN is a value, not no data"
        );

        let matrix = QueryResult::Matrix(vec![Series {
            labels: BTreeMap::new(),
            points: vec![],
        }]);
        assert!(matrix.is_empty());
        assert_eq!(matrix.single_value(), None);
        assert_eq!(matrix.kind(), "matrix");

        let string = QueryResult::String("x".into());
        assert!(!string.is_empty());
        assert_eq!(string.single_value(), None);
    }
}
