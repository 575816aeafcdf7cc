//! SA102 count-via-len: `len()` of a fully loaded query result.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use crate::checker::{Checker, Match};
use crate::python;
use crate::query::{self, Dialect};

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(span), Some(inner)) = (m.get("span"), m.get("inner")) else { return };
    let src = checker.source();
    // `len(list(<query>))` counts the same way as `len(<query>.all())`.
    let (loaded, via_list) = match python::callee_name(inner, src) {
        Some("list") if python::receiver(inner).is_none() => match python::positional_arguments(inner).as_slice() {
            [only] => (*only, true),
            _ => return,
        },
        _ => (inner, false),
    };
    let chain = python::chain(loaded, src);
    // Without `list(...)`, the argument must end in `.all()` with no arguments.
    if !via_list {
        let Some(last) = chain.last() else { return };
        if last.name != "all" || last.call.is_none_or(|c| !python::arguments(c).is_empty()) {
            return;
        }
    }
    // The thing loaded must be a query; for `.all()` strip that link first.
    let query_node = if via_list { loaded } else { python::receiver(loaded).unwrap_or(loaded) };
    let Some(found) = query::resolve_query(query_node, src) else { return };
    // `session.execute(...)` alone yields rows of a Result; `.scalars()` etc. keep it a query.
    let query_text = checker.text(query_node);
    let entity = found.entity(src);
    let what = entity.map_or("the query".to_string(), |e| format!("the `{e}` query"));
    let message = format!(
        "`{}` loads every row of {what} into Python just to count them; the cost grows with the table",
        checker.text(span)
    );
    let help = match found.dialect {
        Dialect::Legacy => format!("count in the database: `{query_text}.count()`"),
        Dialect::Statement => match (entity, simple_select(&found, src)) {
            (Some(entity), Some(criteria)) => {
                format!("count in the database: `session.scalar(select(func.count()).select_from({entity}){criteria})`")
            }
            _ => "count in the database: `session.scalar(select(func.count()).select_from(stmt.subquery()))`".to_string(),
        },
    };
    checker.report(span.byte_range(), message, help);
}

/// For `scalars(select(M).where(a).where(b))`, the `.where(a).where(b)` text when the
/// statement is only `select(M)` plus criteria (so `select_from(M)` keeps its meaning).
fn simple_select(found: &query::QueryExpr<'_>, src: &str) -> Option<String> {
    let call = found.chain.links.get(found.start)?.call?;
    let stmt = python::unparen(*python::positional_arguments(call).first()?);
    // A statement held in a variable may have been narrowed elsewhere: use the subquery form.
    if stmt.kind_str() != "call" {
        return None;
    }
    let chain = python::chain(stmt, src);
    let mut criteria = String::new();
    for link in chain.links.iter().skip(1) {
        if !matches!(link.name, "where" | "filter" | "filter_by") {
            return None;
        }
        let args = link.call?.field("arguments")?;
        criteria.push_str(&format!(".{}{}", link.name, src.get(args.byte_range())?));
    }
    Some(criteria)
}
