//! Rule checks. Each `sa<code>_<name>.rs` here pairs with
//! `queries/SA<code>-<name>.scm`; `build.rs` discovers both, so adding a
//! rule adds files and edits none.
