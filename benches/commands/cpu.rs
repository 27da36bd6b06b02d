//! The machine's CPU time over a stretch, from the kernel's counters in `/proc/stat`: every
//! process on the machine (this one, PostgreSQL's server), not only this one. On a shared
//! host, time taken by other machines shows as "steal", which is not counted as busy.

/// The kernel's clock ticks per second (`getconf CLK_TCK`), 100 on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// The machine's counters at one moment: ticks busy and ticks in all.
#[derive(Clone, Copy, Default)]
pub(crate) struct Ticks {
    busy: u64,
    total: u64,
}

impl Ticks {
    /// The counters now; zero when `/proc/stat` cannot be read (the figures then read 0).
    pub(crate) fn now() -> Self {
        std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|stat| Self::parse(&stat))
            .unwrap_or_default()
    }

    /// The first line, `cpu  user nice system idle iowait irq softirq steal …`: busy is
    /// user, nice, system, irq and softirq; the total adds idle and iowait.
    fn parse(stat: &str) -> Option<Self> {
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let field = |i: usize| fields.get(i).copied().unwrap_or(0);
        let busy = field(0) + field(1) + field(2) + field(5) + field(6);
        Some(Self {
            busy,
            total: busy + field(3) + field(4),
        })
    }

    /// What was counted between `self` and now.
    pub(crate) fn since(self) -> Self {
        let now = Self::now();
        Self {
            busy: now.busy.saturating_sub(self.busy),
            total: now.total.saturating_sub(self.total),
        }
    }

    /// Busy CPU time, in milliseconds.
    pub(crate) fn busy_ms(self) -> f64 {
        self.busy as f64 * 1000.0 / TICKS_PER_SECOND
    }

    /// The share of the cores' time that was busy.
    pub(crate) fn busy_share(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.busy as f64 / self.total as f64
        }
    }
}
