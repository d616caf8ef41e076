//! The pseudo-random numbers the property tests draw their texts and deltas from: a 64-bit
//! linear congruential generator (Knuth's MMIX constants), seeded by each test, so that a
//! failure reproduces run after run.

/// A generator from `seed`: each call gives a number below its argument (which must not be 0).
pub fn below(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize % n
    }
}
