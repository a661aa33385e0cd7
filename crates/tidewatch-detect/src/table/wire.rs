//! The serialised form of a [`SigTable`]: one array per number (count, EWMA, EW variance per
//! scale, frozen flags), as snapshots always held it.
//!
//! Guarantees: a table serialises to exactly the JSON of the earlier column layout and restores
//! from it unchanged; a snapshot whose columns do not all have `2^bits` entries is rejected.

use serde::{Deserialize, Serialize};

use super::{is_zero, BucketCells, BucketSet, SigTable, COUNT, EWMA, EWMVAR, FAST, SLOW};

/// The serialised form of a [`SigTable`] (one array per number, as snapshots always held it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SigTableWire {
    bits: u32,
    hashes: u32,
    alpha: f64,
    beta: f64,
    count: Vec<f32>,
    ewma: Vec<f32>,
    ewmvar: Vec<f32>,
    slow_keep: f64,
    slow_gain: f64,
    slow_count: Vec<f32>,
    slow_ewma: Vec<f32>,
    slow_ewmvar: Vec<f32>,
    frozen: Vec<bool>,
    volume: [f64; 4],
    relative_to_volume: bool,
    /// Absent in snapshots from before the slow scale's warm-up: it warms up again.
    #[serde(default)]
    epochs: u64,
    #[serde(default)]
    slow_warmup: u64,
    /// Absent in older snapshots: the slow baselines then learned at `alpha`.
    #[serde(default)]
    slow_alpha: Option<f64>,
}

impl From<SigTable> for SigTableWire {
    fn from(table: SigTable) -> SigTableWire {
        let column = |scale: usize, field: usize| {
            table
                .cells
                .iter()
                .map(|cells| cells[scale][field])
                .collect()
        };
        SigTableWire {
            bits: table.bits,
            hashes: table.hashes,
            alpha: table.alpha,
            beta: table.beta,
            count: column(FAST, COUNT),
            ewma: column(FAST, EWMA),
            ewmvar: column(FAST, EWMVAR),
            slow_keep: table.slow_keep,
            slow_gain: table.slow_gain,
            slow_count: column(SLOW, COUNT),
            slow_ewma: column(SLOW, EWMA),
            slow_ewmvar: column(SLOW, EWMVAR),
            frozen: (0..table.cells.len())
                .map(|bucket| table.frozen.contains(bucket))
                .collect(),
            volume: table.volume,
            relative_to_volume: table.relative_to_volume,
            epochs: table.epochs,
            slow_warmup: table.slow_warmup,
            slow_alpha: Some(table.slow_alpha),
        }
    }
}

impl TryFrom<SigTableWire> for SigTable {
    type Error = String;

    fn try_from(wire: SigTableWire) -> Result<SigTable, String> {
        let size = 1usize
            .checked_shl(wire.bits)
            .filter(|_| (1..=63).contains(&wire.bits))
            .ok_or_else(|| format!("table bits {} out of range", wire.bits))?;
        let columns = [
            &wire.count,
            &wire.ewma,
            &wire.ewmvar,
            &wire.slow_count,
            &wire.slow_ewma,
            &wire.slow_ewmvar,
        ];
        if columns.iter().any(|column| column.len() != size) || wire.frozen.len() != size {
            return Err(format!("every table column must have {size} buckets"));
        }
        let cells: Vec<BucketCells> = (0..size)
            .map(|bucket| {
                [
                    [wire.count[bucket], wire.ewma[bucket], wire.ewmvar[bucket]],
                    [
                        wire.slow_count[bucket],
                        wire.slow_ewma[bucket],
                        wire.slow_ewmvar[bucket],
                    ],
                ]
            })
            .collect();
        let mut frozen = BucketSet::new(size);
        for (bucket, _) in wire
            .frozen
            .iter()
            .enumerate()
            .filter(|(_, frozen)| **frozen)
        {
            frozen.insert(bucket);
        }
        let mut table = SigTable {
            bits: wire.bits,
            hashes: wire.hashes,
            alpha: wire.alpha,
            beta: wire.beta,
            cells,
            slow_keep: wire.slow_keep,
            slow_alpha: wire.slow_alpha.unwrap_or(wire.alpha),
            slow_gain: wire.slow_gain,
            frozen,
            volume: wire.volume,
            relative_to_volume: wire.relative_to_volume,
            epochs: wire.epochs,
            slow_warmup: wire.slow_warmup,
            live: BucketSet::new(size),
        };
        for bucket in 0..size {
            if !table.cells[bucket].iter().all(is_zero) {
                table.live.insert(bucket);
            }
        }
        Ok(table)
    }
}
