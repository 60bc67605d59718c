//! Compile-time behaviour of `#[tool]`: what compiles, and the one error
//! each mistake gets.
//!
//! Regenerate with TRYBUILD=overwrite cargo test -p integration-tests --test ui

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
