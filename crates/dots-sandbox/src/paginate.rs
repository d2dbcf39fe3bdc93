//! Dots-style cursor pagination: `limit`, `starting_after`, `ending_before`, `has_more`.

use serde::Deserialize;

use crate::error::SandboxError;

/// The query parameters every list route takes.
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    /// 1 to 100 (default 10).
    pub limit: Option<String>,
    /// Return objects after this id.
    pub starting_after: Option<String>,
    /// Return objects before this id.
    pub ending_before: Option<String>,
}

impl PageParams {
    /// The validated limit.
    pub fn limit(&self) -> Result<usize, SandboxError> {
        match self.limit.as_deref() {
            None => Ok(10),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n @ 1..=100) => Ok(n),
                _ => Err(SandboxError::invalid(
                    "limit",
                    "must be an integer between 1 and 100",
                )),
            },
        }
    }
}

/// One page of `items` (already in list order) and whether more follow in that direction.
pub fn page<T: Clone>(
    items: &[T],
    id_of: impl Fn(&T) -> &str,
    limit: usize,
    starting_after: Option<&str>,
    ending_before: Option<&str>,
) -> (Vec<T>, bool) {
    let position = |id: &str| items.iter().position(|item| id_of(item) == id);
    let (start, end, has_more) = match (starting_after, ending_before) {
        (Some(after), _) => {
            let start = position(after).map_or(items.len(), |p| p + 1);
            let end = items.len().min(start + limit);
            (start, end, end < items.len())
        }
        (None, Some(before)) => {
            let end = position(before).unwrap_or(0);
            let start = end.saturating_sub(limit);
            (start, end, start > 0)
        }
        (None, None) => {
            let end = items.len().min(limit);
            (0, end, end < items.len())
        }
    };
    (items[start..end].to_vec(), has_more)
}
