//! The scale benchmark: many sources on a few hundred hosts, a cold start,
//! then steady-state cycles in which a few sources gain one item and the rest
//! answer 304, or the same body again where the server sends no validators.

use std::path::Path;
use std::time::Duration;

use super::cycle::{self, BenchError, ProcessRun, Setup};
use super::farm::{self, Farm, FarmSpec, Shape};

/// One cycle of `hejnal once` and what the farm's hosts saw meanwhile.
#[derive(Debug, Clone)]
pub struct ScaleCycle {
    pub run: ProcessRun,
    /// The database with its WAL after the cycle, bytes.
    pub db_bytes: u64,
    /// Sources whose feed changed before this cycle.
    pub changed: usize,
    /// The most requests any one host had in flight at once.
    pub max_in_flight: u32,
    /// When, after the cycle started, host 0 and the other hosts got their
    /// last request: with a giant host 0, the others should not wait for it.
    pub host0_last: Duration,
    pub others_last: Duration,
}

/// What to run against a farm generated from `spec` and `shape`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: FarmSpec,
    pub shape: Shape,
    pub setup: Setup,
    /// Steady-state cycles after the cold one.
    pub steady: usize,
    /// Every this many sources one gains an item before a steady cycle (20:
    /// 5 %), a different set each time.
    pub change_every: usize,
}

/// Runs a cold cycle, then the plan's steady-state cycles.
pub fn run(
    dir: &Path,
    binary: &Path,
    farm: &Farm,
    plan: &Plan,
) -> Result<Vec<ScaleCycle>, BenchError> {
    let config = cycle::write_config(dir, farm, &plan.setup)?;
    let mut changes = Changes::new(plan);
    let mut cycles = Vec::with_capacity(plan.steady + 1);
    for n in 0..=plan.steady {
        let changed = if n > 0 { changes.apply(farm, n) } else { 0 };
        farm.reset_load();
        let run = cycle::run_once(binary, &config)?;
        cycles.push(measure(dir, farm, run, changed, Duration::ZERO));
    }
    Ok(cycles)
}

/// Where each source's feed starts, as the steady cycles move some on.
pub struct Changes<'a> {
    plan: &'a Plan,
    first_items: Vec<usize>,
}

impl<'a> Changes<'a> {
    pub fn new(plan: &'a Plan) -> Changes<'a> {
        Changes {
            plan,
            first_items: vec![plan.spec.first_item; plan.spec.sources],
        }
    }

    /// Before steady cycle `n`, every `change_every`-th source gains one item
    /// (a different set each time); returns how many did.
    pub fn apply(&mut self, farm: &Farm, n: usize) -> usize {
        let Plan {
            spec,
            shape,
            change_every,
            ..
        } = self.plan;
        if *change_every == 0 {
            return 0;
        }
        let mut changed = 0;
        for i in (0..spec.sources).filter(|i| (i + n).is_multiple_of(*change_every)) {
            self.first_items[i] += 1;
            let (source, doc) = farm::feed(spec, shape, i, self.first_items[i]);
            farm.put(source.path, doc);
            changed += 1;
        }
        changed
    }
}

/// What the farm saw of a cycle that started `late` after its load was
/// reset, and the database it left.
pub fn measure(
    dir: &Path,
    farm: &Farm,
    run: ProcessRun,
    changed: usize,
    late: Duration,
) -> ScaleCycle {
    let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
    let load = farm.load();
    let host0 = farm
        .addrs
        .first()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let last = |host0_wanted: bool| {
        load.iter()
            .filter(|(h, _)| (**h == host0) == host0_wanted)
            .map(|(_, l)| l.last)
            .max()
            .unwrap_or_default()
            .saturating_sub(late)
    };
    ScaleCycle {
        run,
        db_bytes: size("hejnal.db") + size("hejnal.db-wal"),
        changed,
        max_in_flight: load.values().map(|l| l.max_in_flight).max().unwrap_or(0),
        host0_last: last(true),
        others_last: last(false),
    }
}
