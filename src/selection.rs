//! Rule selection with Ruff's semantics: selectors are codes or prefixes
//! (`SA1`, `SA10`, `SA101`) or `ALL`; for each rule the most specific
//! matching selector among select and ignore decides (ignore wins a tie).
//! Opt-in rules (`default: off`) are enabled only by their exact code or `ALL`.
use crate::registry::{self, RuleId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    All,
    Prefix(String),
}

#[derive(Debug)]
pub(crate) struct SelectorError {
    pub(crate) message: String,
    pub(crate) help: Option<String>,
}

impl Selector {
    pub(crate) fn parse(text: &str) -> Result<Self, SelectorError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("ALL") {
            return Ok(Selector::All);
        }
        let upper = text.to_ascii_uppercase();
        if upper.starts_with("SA") && registry::all().iter().any(|r| r.code.starts_with(&upper)) {
            return Ok(Selector::Prefix(upper));
        }
        let similar: Vec<&str> = registry::all()
            .iter()
            .filter(|r| upper.len() >= 3 && r.code.starts_with(&upper[..upper.len().min(4)]))
            .map(|r| r.code.as_str())
            .take(6)
            .collect();
        Err(SelectorError {
            message: format!("unknown rule selector `{text}`"),
            help: Some(if similar.is_empty() {
                "selectors are rule codes or prefixes such as `SA1` or `SA101`, or `ALL`; `sqlalint rules` lists them"
                    .into()
            } else {
                format!("did you mean one of: {}?", similar.join(", "))
            }),
        })
    }

    /// Specificity when this selector matches `code`: longer prefixes are more specific.
    fn specificity(&self, code: &str) -> Option<usize> {
        match self {
            Selector::All => Some(0),
            Selector::Prefix(prefix) => code.starts_with(prefix.as_str()).then_some(prefix.len()),
        }
    }

    fn names_exactly(&self, code: &str) -> bool {
        matches!(self, Selector::Prefix(p) if p == code)
    }
}

/// The set of enabled rules, as a bitmap indexed by [`RuleId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleSet(Vec<bool>);

impl RuleSet {
    /// `select = None` means the default set (every rule with `default: on`).
    pub(crate) fn resolve(select: Option<&[Selector]>, extend_select: &[Selector], ignore: &[Selector]) -> Self {
        let enabled = registry::all()
            .iter()
            .map(|rule| {
                let code = rule.code.as_str();
                let selectors: Vec<&Selector> = match select {
                    Some(select) => select.iter().chain(extend_select).collect(),
                    None => extend_select.iter().collect(),
                };
                let best_select = selectors
                    .iter()
                    .filter(|s| rule.default_enabled || matches!(s, Selector::All) || s.names_exactly(code))
                    .filter_map(|s| s.specificity(code))
                    .max();
                let best_select = match (select, best_select) {
                    (None, None) if rule.default_enabled => Some(0),
                    (_, best) => best,
                };
                let best_ignore = ignore.iter().filter_map(|s| s.specificity(code)).max();
                match (best_select, best_ignore) {
                    (Some(s), Some(i)) => s > i,
                    (Some(_), None) => true,
                    (None, _) => false,
                }
            })
            .collect();
        RuleSet(enabled)
    }

    pub(crate) fn contains(&self, id: RuleId) -> bool {
        self.0.get(id).copied().unwrap_or(false)
    }

    pub(crate) fn without(&self, ignore: &[Selector]) -> Self {
        let rules = registry::all();
        RuleSet(
            self.0
                .iter()
                .enumerate()
                .map(|(id, on)| *on && !ignore.iter().any(|s| s.specificity(&rules[id].code).is_some()))
                .collect(),
        )
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = RuleId> + '_ {
        self.0.iter().enumerate().filter(|(_, on)| **on).map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(set: &RuleSet) -> Vec<String> {
        set.ids().map(|id| registry::all()[id].code.clone()).collect()
    }

    fn sel(codes: &[&str]) -> Vec<Selector> {
        codes.iter().map(|c| Selector::parse(c).unwrap()).collect()
    }

    #[test]
    fn default_set_is_every_default_on_rule() {
        let set = RuleSet::resolve(None, &[], &[]);
        let expected: Vec<String> =
            registry::all().iter().filter(|r| r.default_enabled).map(|r| r.code.clone()).collect();
        assert_eq!(codes(&set), expected);
    }

    #[test]
    fn most_specific_selector_wins() {
        let first = registry::all()[0].code.clone();
        let set = RuleSet::resolve(Some(&sel(&[&first])), &[], &sel(&["SA"]));
        assert_eq!(codes(&set), vec![first.clone()]);
        let set = RuleSet::resolve(Some(&sel(&["ALL"])), &[], &sel(&[&first]));
        assert!(!codes(&set).contains(&first));
    }

    #[test]
    fn opt_in_rules_need_their_code_or_all() {
        let Some(opt_in) = registry::all().iter().find(|r| !r.default_enabled) else { return };
        let prefix = &opt_in.code[..3];
        assert!(!codes(&RuleSet::resolve(Some(&sel(&[prefix])), &[], &[])).contains(&opt_in.code));
        assert!(codes(&RuleSet::resolve(Some(&sel(&[&opt_in.code])), &[], &[])).contains(&opt_in.code));
        assert!(codes(&RuleSet::resolve(Some(&sel(&["ALL"])), &[], &[])).contains(&opt_in.code));
    }

    #[test]
    fn unknown_selectors_are_rejected() {
        assert!(Selector::parse("SA999").is_err());
        assert!(Selector::parse("E501").is_err());
        assert!(Selector::parse("all").is_ok());
    }
}
