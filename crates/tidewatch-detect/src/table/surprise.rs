//! How improbable a count is for a Poisson count of a given mean.
//!
//! Guarantees: [`poisson_surprise`] is `−log10 P(X ≥ n)` for `X ~ Poisson(mean)`, accurate
//! far into the tail (it sums the tail from its first term, never `1 − P(X < n)`); 0 when `n`
//! is not above the mean (the count is not unusual: the true value is below 0.31 there);
//! finite and non-negative for any finite input, non-decreasing in `n` and non-increasing in
//! `mean`; its cost is bounded (at most 512 tail terms, `ln(n!)` by Stirling's series), and
//! [`poisson_surprise_reaches`] answers as comparing it, mostly from the first term alone.
//! `overdispersed_surprise` is the same for a negative binomial count (a wider spread than
//! Poisson, from the key's own variance): in the tail (counts of at least twice the mean) never
//! more surprising than the Poisson count of the same mean, and equal to it when the variance
//! is not above the mean.

/// `−log10 P(X ≥ n)` for `X ~ Poisson(mean)` (0 when `n` ≤ `mean`, or either is not a
/// positive finite number); summed from the term of `n` up, at most 512 terms (enough for
/// any mean up to about 10,000; beyond, the result errs high by a fraction of one).
pub(crate) fn poisson_surprise(n: f64, mean: f64) -> f64 {
    let Some((n, ln_first)) = first_term(n, mean) else {
        return 0.0;
    };
    // Σ_{i ≥ n} P(X = i) = P(X = n) × Σ_k Π_{j=1..k} mean / (n + j).
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for step in 1..512u64 {
        term *= mean / (n + step) as f64;
        sum += term;
        if term < 1e-12 * sum {
            break;
        }
    }
    let ln_tail = (ln_first + sum.ln()).min(0.0);
    -ln_tail / std::f64::consts::LN_10
}

/// Whether [`poisson_surprise`]`(n, mean) >= level`, usually without summing the tail: the
/// tail is at least its first term, so a first term above `10^−level` already says no.
pub(crate) fn poisson_surprise_reaches(n: f64, mean: f64, level: f64) -> bool {
    let Some((_, ln_first)) = first_term(n, mean) else {
        return level <= 0.0;
    };
    if -ln_first / std::f64::consts::LN_10 < level {
        return false;
    }
    poisson_surprise(n, mean) >= level
}

/// `−log10 P(X ≥ n)` for a negative binomial count of the given mean and variance: a count
/// whose usual spread is wider than a Poisson count's (words come in bursts). It is
/// [`poisson_surprise`] when `variance` is not above `mean`; the variance is taken as at most
/// 100 × the mean (the tail sum then needs at most a few thousand terms). The detector asks
/// only [`overdispersed_surprise_reaches`]; the value itself is for tests and diagnostics.
#[cfg(test)]
pub(crate) fn overdispersed_surprise(n: f64, mean: f64, variance: f64) -> f64 {
    match overdispersed_first_term(n, mean, variance) {
        Overdispersed::Poisson => poisson_surprise(n, mean),
        Overdispersed::NotAbove => 0.0,
        Overdispersed::Tail { n, r, q, ln_first } => negative_binomial_tail(n, r, q, ln_first),
    }
}

/// Whether `overdispersed_surprise(n, mean, variance) >= level` (mostly from its first
/// term: the tail is at least that).
pub(crate) fn overdispersed_surprise_reaches(n: f64, mean: f64, variance: f64, level: f64) -> bool {
    match overdispersed_first_term(n, mean, variance) {
        Overdispersed::Poisson => poisson_surprise_reaches(n, mean, level),
        Overdispersed::NotAbove => level <= 0.0,
        Overdispersed::Tail { n, r, q, ln_first } => {
            -ln_first / std::f64::consts::LN_10 >= level
                && negative_binomial_tail(n, r, q, ln_first) >= level
        }
    }
}

/// `−log10 Σ_{i ≥ n} P(X = i)` from the first term's logarithm: each term is the previous
/// × (i + r) / (i + 1) × q (at most 8,192 terms).
fn negative_binomial_tail(n: u64, r: f64, q: f64, ln_first: f64) -> f64 {
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    let mut i = n as f64;
    for _ in 1..8192u32 {
        term *= (i + r) / (i + 1.0) * q;
        i += 1.0;
        sum += term;
        if term < 1e-12 * sum {
            break;
        }
    }
    let ln_tail = (ln_first + sum.ln()).min(0.0);
    -ln_tail / std::f64::consts::LN_10
}

enum Overdispersed {
    Poisson,
    NotAbove,
    /// The count, the shape `r`, `1 − p`, and `ln P(X = n)`.
    Tail {
        n: u64,
        r: f64,
        q: f64,
        ln_first: f64,
    },
}

fn overdispersed_first_term(n: f64, mean: f64, variance: f64) -> Overdispersed {
    let variance = if variance.is_finite() {
        variance.min(100.0 * mean)
    } else {
        mean
    };
    if variance <= mean * (1.0 + 1e-9) {
        return Overdispersed::Poisson;
    }
    if !(n.is_finite() && mean.is_finite() && mean > 0.0 && n > mean) {
        return Overdispersed::NotAbove;
    }
    let n = n.min(1e9) as u64;
    let r = mean * mean / (variance - mean);
    let p = mean / variance;
    let ln_first = ln_gamma(n as f64 + r) - ln_gamma(r) - ln_factorial(n)
        + r * p.ln()
        + n as f64 * (1.0 - p).ln();
    Overdispersed::Tail {
        n,
        r,
        q: 1.0 - p,
        ln_first,
    }
}

/// `ln Γ(x)` for `x > 0`: shifted up to 10 or more, then Stirling's series.
fn ln_gamma(x: f64) -> f64 {
    let (mut x, mut shift) = (x, 0.0);
    while x < 10.0 {
        shift += x.ln();
        x += 1.0;
    }
    let series = 1.0 / (12.0 * x) - 1.0 / (360.0 * x.powi(3)) + 1.0 / (1260.0 * x.powi(5));
    (x - 0.5) * x.ln() - x + 0.5 * (std::f64::consts::TAU).ln() + series - shift
}

/// `n` as a count and `ln P(X = n)`, when `n` is above a positive finite `mean`.
fn first_term(n: f64, mean: f64) -> Option<(u64, f64)> {
    if !(n.is_finite() && mean.is_finite() && mean > 0.0 && n > mean) {
        return None;
    }
    let n = n.min(1e9) as u64;
    Some((n, n as f64 * mean.ln() - mean - ln_factorial(n)))
}

/// `ln(n!)`: summed up to 16, Stirling's series beyond (error below 1e-10 there).
fn ln_factorial(n: u64) -> f64 {
    if n <= 16 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let x = n as f64;
    let series = 1.0 / (12.0 * x) - 1.0 / (360.0 * x.powi(3)) + 1.0 / (1260.0 * x.powi(5));
    x * x.ln() - x + 0.5 * (std::f64::consts::TAU * x).ln() + series
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact(n: u64, mean: f64) -> f64 {
        // 1 − P(X < n), fine where the tail is not tiny.
        let mut below = 0.0;
        let mut term = (-mean).exp();
        for i in 0..n {
            below += term;
            term *= mean / (i + 1) as f64;
        }
        -(1.0 - below).log10()
    }

    #[test]
    fn matches_the_poisson_tail() {
        assert_eq!(poisson_surprise(0.0, 1.0), 0.0);
        assert_eq!(poisson_surprise(3.0, 0.0), 0.0);
        assert_eq!(poisson_surprise(2.0, 300.0), 0.0);
        assert!(exact(300, 300.0) < 0.31 && exact(1, 1.0) < 0.31);
        for (n, mean) in [(1, 0.5), (3, 0.1), (5, 2.0), (12, 6.7), (4, 0.41)] {
            let got = poisson_surprise(n as f64, mean);
            assert!((got - exact(n, mean)).abs() < 1e-6, "{n} {mean}: {got}");
        }
        // Three posts of a word usually seen 0.1 times: about 1 in 6,500.
        assert!((poisson_surprise(3.0, 0.1) - 3.81).abs() < 0.01);
        // Far in the tail, where 1 − P(X < n) would be 0.
        let far = poisson_surprise(40.0, 0.1);
        assert!(far.is_finite() && far > 70.0, "{far}");
        // Stirling's series beyond 16 agrees with the sum.
        let summed: f64 = (2..=40u64).map(|i| (i as f64).ln()).sum();
        assert!((ln_factorial(40) - summed).abs() < 1e-9);
    }

    fn exact_negative_binomial(n: u64, mean: f64, variance: f64) -> f64 {
        // 1 − P(X < n) with P(X = i) = C(i + r − 1, i) p^r (1 − p)^i, r and p from the moments.
        let r = mean * mean / (variance - mean);
        let p = mean / variance;
        let mut term = p.powf(r);
        let mut below = 0.0;
        for i in 0..n {
            below += term;
            term *= (i as f64 + r) / (i as f64 + 1.0) * (1.0 - p);
        }
        -(1.0 - below).log10()
    }

    #[test]
    fn a_wider_spread_is_less_surprising() {
        for (n, mean, variance) in [
            (4, 0.5, 1.0),
            (6, 0.34, 0.42),
            (10, 3.0, 9.0),
            (3, 0.2, 2.0),
        ] {
            let got = overdispersed_surprise(n as f64, mean, variance);
            let want = exact_negative_binomial(n, mean, variance);
            assert!(
                (got - want).abs() < 1e-6,
                "{n} {mean} {variance}: {got} vs {want}"
            );
            assert!(
                got < poisson_surprise(n as f64, mean),
                "{n} {mean} {variance}"
            );
        }
        // Not wider than Poisson: the Poisson tail.
        assert_eq!(
            overdispersed_surprise(5.0, 1.0, 0.5),
            poisson_surprise(5.0, 1.0)
        );
        assert_eq!(overdispersed_surprise(0.0, 1.0, 4.0), 0.0);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-10);
        assert!((ln_gamma(20.0) - ln_factorial(19)).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn the_overdispersed_tail_is_bounded_by_the_poisson_one(
            n in 0u32..200,
            mean in 0.001f64..100.0,
            spread in 0.5f64..200.0,
        ) {
            let (n, variance) = (f64::from(n), mean * spread);
            let now = overdispersed_surprise(n, mean, variance);
            prop_assert!(now.is_finite() && now >= 0.0);
            // Far enough into the tail, the wider spread is the less surprising one (near the
            // mean it need not be: a negative binomial count has more of its mass below).
            if n >= 2.0 * mean + 2.0 {
                prop_assert!(now <= poisson_surprise(n, mean) + 1e-9);
            }
            prop_assert!(overdispersed_surprise(n + 1.0, mean, variance) >= now - 1e-9);
            for level in [0.5, 2.0, 4.8, 8.0] {
                prop_assert_eq!(
                    overdispersed_surprise_reaches(n, mean, variance, level),
                    now >= level
                );
            }
        }

        #[test]
        fn grows_with_the_count_and_shrinks_with_the_mean(
            n in 0u32..200,
            mean in 0.001f64..300.0,
        ) {
            let n = f64::from(n);
            let now = poisson_surprise(n, mean);
            prop_assert!(now.is_finite() && now >= 0.0);
            prop_assert!(poisson_surprise(n + 1.0, mean) >= now - 1e-9);
            prop_assert!(poisson_surprise(n, mean * 1.5) <= now + 1e-9);
            for level in [0.5, 2.0, 4.0, 8.0] {
                prop_assert_eq!(poisson_surprise_reaches(n, mean, level), now >= level);
            }
        }
    }
}
