//! A regex as a forward lazy DFA that says only whether it matches, not where: built in a
//! fraction of a full regex's time (no literal prefilters, reverse search or capture engines).
//! Its caches are pooled, so the states it has worked out serve every later search, on any
//! thread. Path patterns (`rules.rs`) and prechecks (`precheck.rs`) are built so.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::pool::Pool;
use regex_automata::Input;
use regex_syntax::hir::Hir;
use std::panic::{RefUnwindSafe, UnwindSafe};

pub struct LazyDfa {
    dfa: DFA,
    caches: Pool<Cache, CacheFn>,
}

type CacheFn = Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>;

impl LazyDfa {
    /// The DFA of a syntax tree (`syntax::tree`), or `None` if it cannot be built.
    pub fn new(hir: &Hir) -> Option<LazyDfa> {
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().utf8(false).which_captures(WhichCaptures::None))
            .build_from_hir(hir)
            .ok()?;
        let dfa = DFA::builder().build_from_nfa(nfa).ok()?;
        let for_caches = dfa.clone();
        Some(LazyDfa { dfa, caches: Pool::new(Box::new(move || for_caches.create_cache())) })
    }

    /// Whether `input` holds a match; `None` if the DFA gave up (the caller then decides).
    pub fn is_match(&self, input: Input) -> Option<bool> {
        let input = input.earliest(true);
        self.dfa.try_search_fwd(&mut self.caches.get(), &input).ok().map(|m| m.is_some())
    }
}

impl std::fmt::Debug for LazyDfa {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("LazyDfa")
    }
}
