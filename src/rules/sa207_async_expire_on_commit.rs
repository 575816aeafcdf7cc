//! SA207 async-expire-on-commit: an `AsyncSession` or async session factory made
//! with the default `expire_on_commit=True`. Reported always (see the rule's docs):
//! reads after commit cannot be traced across a project reliably.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use crate::checker::{Checker, Match};
use crate::python;
use crate::sessions;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("call") else { return };
    let src = checker.source();
    if !sessions::makes_async_sessions(call, src) {
        return;
    }
    // Any explicit choice (also `expire_on_commit=True`) or a `**options` that may carry one.
    let arguments = python::arguments(call);
    if python::keyword_argument(call, "expire_on_commit", src).is_some()
        || arguments.iter().any(|a| a.kind_str() == "dictionary_splat")
    {
        return;
    }
    let Some(function) = call.field("function") else { return };
    let callee = checker.text(function);
    let Some(list) = call.field("arguments") else { return };
    let shown = checker.text(call).split_whitespace().collect::<Vec<_>>().join(" ");
    let shown = if shown.chars().count() <= 60 { shown } else { format!("{callee}(...)") };
    let message = format!(
        "`{shown}` keeps the default `expire_on_commit=True`: after `await session.commit()` every loaded object \
         is expired, and reading any of its attributes reloads it with implicit I/O, which raises `MissingGreenlet` \
         under asyncio"
    );
    let args = checker.text(list).trim_start_matches('(').trim_end_matches(')').trim().trim_end_matches(',');
    let fixed = if args.is_empty() || args.contains('\n') {
        format!("{callee}(..., expire_on_commit=False)")
    } else {
        format!("{callee}({args}, expire_on_commit=False)")
    };
    let help = format!("pass `expire_on_commit=False`: `{fixed}` (and `await session.refresh(obj)` where fresh values are needed after a commit)");
    checker.report(call.byte_range(), message, help);
}
