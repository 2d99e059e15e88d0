//! A backup gives way to the site's server. SCHED_IDLE already lets an office request take a
//! core the moment it wakes, but on a small machine that is not enough: a backup busy on every
//! core still slows each request through what the cores share (caches, memory bandwidth, a
//! hypervisor's sibling threads). Idle-class busy loops on both cores of a 2-core appliance
//! alone doubled the office's p99. So while the server holding the data dir has been running
//! within the last [`GiveWay::HOLD`], every thread of the backup keeps off one core; once the server has
//! been idle that long (a night, a lunch break), the backup takes every core again.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// How often the server's CPU time is read.
const TICK: Duration = Duration::from_millis(20);
/// The ticks over which the server's CPU time is summed (100 ms).
const WINDOW: usize = 5;
/// Server CPU time within a window that counts as serving (1% of a core): an idle server's
/// timers stay well below it, an office at work goes well over.
const BUSY: Duration = Duration::from_millis(1);

/// Keeps the backup's threads off one core while the server serves; dropping it stops the
/// watch and gives the backup every core back.
pub struct GiveWay {
    stop: Option<mpsc::Sender<()>>,
    watcher: Option<JoinHandle<()>>,
}

impl GiveWay {
    /// How long after the server last served the backup keeps off its core.
    pub const HOLD: Duration = Duration::from_secs(1);

    /// Starts watching the process that holds `data_dir`'s lock. None when no server holds it,
    /// or this process may use a single core only (there is nothing to leave free).
    pub fn start(data_dir: &Path) -> Option<GiveWay> {
        let server = lock_holder(&data_dir.join("govbox.lock"))?;
        if server == std::process::id() {
            return None;
        }
        let all = sched_getaffinity(Pid::from_raw(0)).ok()?;
        let cpus: Vec<usize> = (0..CpuSet::count())
            .filter(|&c| all.is_set(c).unwrap_or(false))
            .collect();
        if cpus.len() < 2 {
            return None;
        }
        let mut narrow = all;
        narrow.unset(cpus[0]).ok()?;
        let start = run_time(server)?;
        let (stop, stopped) = mpsc::channel();
        let watcher = std::thread::Builder::new()
            .name("govbox-give-way".into())
            .spawn(move || watch(server, start, all, narrow, &stopped))
            .ok()?;
        Some(GiveWay {
            stop: Some(stop),
            watcher: Some(watcher),
        })
    }
}

impl Drop for GiveWay {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}

/// Whether the backup keeps off the server's core, given when the server last served.
fn narrowed(last_busy: Instant, now: Instant) -> bool {
    now.duration_since(last_busy) < GiveWay::HOLD
}

fn watch(server: u32, mut last: u64, all: CpuSet, narrow: CpuSet, stopped: &mpsc::Receiver<()>) {
    // Until a tick says otherwise, the server is taken to be serving: a backup started during
    // office hours never spends its first tick on every core.
    let mut last_busy = Instant::now();
    let mut applied: Option<bool> = None;
    let mut done: HashSet<i32> = HashSet::new();
    let mut window = [0u64; WINDOW];
    let mut tick = 0usize;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
        let Some(now_ns) = run_time(server) else {
            break;
        };
        window[tick % WINDOW] = now_ns.saturating_sub(last);
        tick += 1;
        last = now_ns;
        if window.iter().sum::<u64>() >= BUSY.as_nanos() as u64 {
            last_busy = Instant::now();
        }
        let narrow_now = narrowed(last_busy, Instant::now());
        if applied != Some(narrow_now) {
            applied = Some(narrow_now);
            done.clear();
        }
        // Every tick, for threads started since (zstd starts its workers when it is first fed).
        set_threads(if narrow_now { &narrow } else { &all }, &mut done);
    }
    done.clear();
    set_threads(&all, &mut done);
}

/// Sets the affinity of every thread of this process not yet in `done`.
fn set_threads(set: &CpuSet, done: &mut HashSet<i32>) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for tid in tasks
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
    {
        // A thread that ended meanwhile is simply gone.
        if !done.contains(&tid) && sched_setaffinity(Pid::from_raw(tid), set).is_ok() {
            done.insert(tid);
        }
    }
}

/// Nanoseconds the process has run on a CPU, summed over its threads (`schedstat` is exact;
/// `stat` counts in 10 ms ticks, too coarse to see single requests).
fn run_time(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = 0u64;
    for t in tasks.flatten() {
        if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
            sum += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(sum)
}

/// The pid holding the flock on `lock`, from the kernel's lock table: the pid written in the
/// file may be stale, the table is not.
fn lock_holder(lock: &Path) -> Option<u32> {
    let inode = std::fs::metadata(lock).ok()?.ino();
    let table = std::fs::read_to_string("/proc/locks").ok()?;
    parse_holder(&table, inode)
}

fn parse_holder(table: &str, inode: u64) -> Option<u32> {
    table.lines().find_map(|line| {
        // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
        let f: Vec<&str> = line.split_whitespace().collect();
        let (kind, pid, dev_ino) = (f.get(1)?, f.get(4)?, f.get(5)?);
        let ino: u64 = dev_ino.rsplit(':').next()?.parse().ok()?;
        (*kind == "FLOCK" && ino == inode)
            .then(|| pid.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_table_names_the_holder_of_that_inode_only() {
        let table = "1: POSIX  ADVISORY  WRITE 77 00:2a:5678 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF\n\
                     3: FLOCK  ADVISORY  WRITE 999 08:01:42 0 EOF\n";
        assert_eq!(parse_holder(table, 5678), Some(1234));
        assert_eq!(parse_holder(table, 42), Some(999));
        assert_eq!(parse_holder(table, 7), None);
        assert_eq!(parse_holder("garbage\n\n1:\n", 7), None);
    }

    #[test]
    fn the_backup_keeps_off_the_core_for_the_hold_after_the_server_served() {
        let t = Instant::now();
        assert!(narrowed(t, t));
        assert!(narrowed(t, t + GiveWay::HOLD - Duration::from_millis(1)));
        assert!(!narrowed(t, t + GiveWay::HOLD));
    }

    #[test]
    fn run_time_grows_with_work_and_is_none_for_a_missing_process() {
        let me = std::process::id();
        let a = run_time(me).unwrap();
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(20) {
            std::hint::black_box(0u64);
        }
        assert!(run_time(me).unwrap() >= a + 10_000_000);
        assert_eq!(run_time(u32::MAX), None);
    }
}
