//! Whether a set of list pages is the whole list: the vendor's two pagination styles.
//!
//! Offset pages carry `next_page`, `previous_page` (URLs with `page=N`) and `count` (items in
//! the whole list); cursor pages carry `meta.has_more` and `links.next`. A list is whole when
//! its last page is there, no page number between 1 and the last is missing, and the pages
//! hold as many items as `count` says.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// What one page says about its place in the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageLinks {
    /// The next page's URL; `None` on the last page.
    pub next: Option<String>,
    pub previous: Option<String>,
    /// Items in the whole list (offset pagination).
    pub count: Option<u64>,
    /// Cursor pagination: `meta.has_more`.
    pub has_more: Option<bool>,
    /// Items on this page.
    pub items: usize,
}

impl PageLinks {
    /// Reads the pagination fields of a page holding `items` entries.
    pub fn of(page: &Value, items: usize) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let has_more = page.pointer("/meta/has_more").and_then(Value::as_bool);
        let next = text(page.get("next_page")).or_else(|| {
            if has_more == Some(true) {
                text(page.pointer("/links/next"))
            } else {
                None
            }
        });
        PageLinks {
            next,
            previous: text(page.get("previous_page")).or_else(|| text(page.pointer("/links/prev"))),
            count: page.get("count").and_then(Value::as_u64),
            has_more,
            items,
        }
    }

    /// This page's number in offset pagination: one before its next page's, or one after
    /// its previous page's; unknown for a page with neither (only `count` judges it then).
    pub fn number(&self) -> Option<u64> {
        if self.has_more.is_some() {
            return None;
        }
        let from_next = self.next.as_deref().and_then(page_param).map(|n| n - 1);
        let from_prev = self.previous.as_deref().and_then(page_param).map(|n| n + 1);
        from_next.or(from_prev).filter(|n| *n >= 1)
    }

    /// Whether more pages follow this one.
    pub fn more(&self) -> bool {
        self.next.is_some() || self.has_more == Some(true)
    }
}

/// The `page=N` parameter of a URL (not `page[size]` or `per_page`), N ≥ 2 for a next page.
fn page_param(url: &str) -> Option<u64> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .filter(|n| *n >= 1)
}

/// A hole in the list: which page (by its label) reports it, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Gap {
    /// The index in the pages given of the page the reason is about.
    pub page: usize,
    pub reason: String,
}

/// The holes in a set of pages (given in any order, labelled by the caller); `items` names
/// what the list holds (`installations`), for the reasons.
pub fn gaps(pages: &[PageLinks], items: &str) -> Vec<Gap> {
    let mut out = Vec::new();
    if pages.is_empty() {
        return out;
    }
    let last_index = pages.len() - 1;
    if pages.iter().all(PageLinks::more) {
        out.push(Gap {
            page: last_index,
            reason: "every page given has a next page (next_page, or meta.has_more true): the \
                     list goes on; give every page (the last has \"next_page\": null)"
                .into(),
        });
        return out;
    }
    // Offset pages by number; pages whose number is unknown only count toward `count`.
    let mut by_number: BTreeMap<u64, usize> = BTreeMap::new();
    let mut unnumbered_items = 0;
    for (i, p) in pages.iter().enumerate() {
        match p.number() {
            Some(n) => {
                by_number.entry(n).or_insert(i);
            }
            None => unnumbered_items += p.items,
        }
    }
    let last = pages
        .iter()
        .filter(|p| !p.more())
        .filter_map(PageLinks::number)
        .max();
    let mut missing = BTreeSet::new();
    if let Some(last) = last {
        for n in 1..=last {
            if !by_number.contains_key(&n) {
                missing.insert(n);
            }
        }
    }
    for &n in &missing {
        // Name the page that points at the missing one, and the URL to fetch.
        let before = n.checked_sub(1).and_then(|b| by_number.get(&b)).copied();
        let after = by_number.get(&(n + 1)).copied();
        let url = before
            .and_then(|i| pages[i].next.clone())
            .or_else(|| after.and_then(|i| pages[i].previous.clone()));
        let of = last.map(|l| format!(" of {l}")).unwrap_or_default();
        let fetch = url
            .map(|u| format!("; fetch {u}"))
            .unwrap_or_else(|| format!("; fetch it with page={n}"));
        out.push(Gap {
            page: before.or(after).unwrap_or(last_index),
            reason: format!(
                "page {n}{of} of the list is missing, so its {items} were not audited{fetch}"
            ),
        });
    }
    let count = pages.iter().filter_map(|p| p.count).max();
    let held: usize = by_number.values().map(|&i| pages[i].items).sum::<usize>() + unnumbered_items;
    if let Some(count) = count {
        if missing.is_empty() && (held as u64) < count {
            let at = pages
                .iter()
                .position(|p| p.count == Some(count))
                .unwrap_or(last_index);
            out.push(Gap {
                page: at,
                reason: format!(
                    "the list's count is {count} but the pages given hold {held} {items}: \
                     a page is missing or the list changed while it was fetched; fetch every page again"
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(prev: Option<u64>, next: Option<u64>, count: u64, items: usize) -> PageLinks {
        let url =
            |n: u64| format!("https://acme.example.com/api/v2/apps/installations.json?page={n}");
        PageLinks {
            next: next.map(url),
            previous: prev.map(url),
            count: Some(count),
            has_more: None,
            items,
        }
    }

    #[test]
    fn page_numbers_from_links() {
        assert_eq!(offset(None, Some(2), 7, 4).number(), Some(1));
        assert_eq!(offset(Some(1), Some(3), 7, 4).number(), Some(2));
        assert_eq!(offset(Some(2), None, 7, 4).number(), Some(3));
        assert_eq!(offset(None, None, 7, 4).number(), None);
        assert_eq!(page_param("https://x/?per_page=100&page=3"), Some(3));
        assert_eq!(page_param("https://x/?page[size]=100"), None);
    }

    #[test]
    fn whole_lists_have_no_gaps() {
        assert!(gaps(
            &[offset(None, Some(2), 7, 4), offset(Some(1), None, 7, 3)],
            "installations"
        )
        .is_empty());
        // Any order; a page given twice is one page.
        assert!(gaps(
            &[
                offset(Some(1), None, 7, 3),
                offset(None, Some(2), 7, 4),
                offset(None, Some(2), 7, 4)
            ],
            "installations"
        )
        .is_empty());
        assert!(gaps(&[offset(None, None, 0, 0)], "installations").is_empty());
    }

    #[test]
    fn a_missing_middle_page_is_named_with_its_url() {
        let g = gaps(
            &[offset(None, Some(2), 9, 3), offset(Some(2), None, 9, 3)],
            "installations",
        );
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].page, 0);
        assert!(
            g[0].reason
                .starts_with("page 2 of 3 of the list is missing"),
            "{}",
            g[0].reason
        );
        assert!(g[0].reason.ends_with("installations.json?page=2"));
    }

    #[test]
    fn a_short_count_without_page_numbers_is_a_gap() {
        let g = gaps(&[offset(None, None, 5, 4)], "installations");
        assert_eq!(g.len(), 1);
        assert!(g[0]
            .reason
            .contains("count is 5 but the pages given hold 4"));
    }

    #[test]
    fn cursor_pages_that_all_have_more_are_a_gap() {
        let cursor = PageLinks::of(
            &serde_json::json!({"meta": {"has_more": true}, "links": {"next": "https://x/?page[after]=abc"}}),
            100,
        );
        assert_eq!(cursor.number(), None);
        assert!(cursor.more());
        assert_eq!(gaps(&[cursor], "installations").len(), 1);
    }
}
