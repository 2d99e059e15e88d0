//! Firewall: the zones of site.toml become one nftables table, `inet govbox`; check, apply with
//! automatic rollback unless confirmed, confirm, rollback, drift status, boot-time load.

mod config;
mod nft;
mod render;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use config::{FirewallConfig, Outbound, Rate, Service, Zone, Zones};
pub use render::{render, validate};

use crate::site::{ConfigError, SiteConfig};
use nft::{Pending, State};

#[derive(Debug, clap::Subcommand)]
pub enum FirewallCmd {
    /// Print the ruleset site.toml describes.
    Render,
    /// Validate the ruleset against this machine's interfaces and `nft -c`.
    Check,
    /// Load the ruleset; restore the previous one unless `confirm` follows in time.
    Apply {
        /// Seconds to run `govbox firewall confirm` before the previous ruleset comes back.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(10..=3600))]
        confirm_within: u64,
    },
    /// Keep the ruleset loaded by the last `apply`.
    Confirm,
    /// Restore the ruleset that was loaded before the last `apply`, now.
    Rollback,
    /// Show what is loaded against what site.toml says, and any pending confirmation.
    Status,
    /// Load the last confirmed ruleset at boot, or the one before an unconfirmed apply.
    Boot,
    /// Remove the govbox table, and nothing else.
    Unload,
    /// Internal: waits for a deadline and restores the saved ruleset unless confirmed.
    #[command(hide = true)]
    Watch {
        #[arg(long)]
        state_dir: PathBuf,
        #[arg(long)]
        token: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error(transparent)]
    Config(ConfigError),
    #[error("{0}: 没有配置防火墙区域。修正: 在站点配置中添加 [firewall.zones.*]，示例见 provisioning/examples/")]
    NotConfigured(PathBuf),
    #[error("nft 失败: {0}")]
    Nft(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Refused(String),
}

impl FirewallError {
    pub fn exit_code(&self) -> u8 {
        match self {
            FirewallError::Config(_)
            | FirewallError::NotConfigured(_)
            | FirewallError::Refused(_) => 2,
            FirewallError::Nft(_) | FirewallError::Io(..) => 1,
        }
    }
}

/// Where the firewall keeps its pending-change state for a site.
pub fn state_dir(site: &SiteConfig) -> PathBuf {
    site.storage.data_dir.join("firewall")
}

pub fn run(cmd: FirewallCmd, site: &SiteConfig, file: &Path) -> Result<(), FirewallError> {
    let state = State::new(&state_dir(site));
    match cmd {
        FirewallCmd::Render => {
            print!("{}", render(site, file)?);
            Ok(())
        }
        FirewallCmd::Check => {
            let ruleset = checked(site, file)?;
            println!("防火墙规则有效（{} 行）", ruleset.lines().count());
            Ok(())
        }
        FirewallCmd::Apply { confirm_within } => apply(site, file, &state, confirm_within),
        FirewallCmd::Confirm => confirm(&state),
        FirewallCmd::Rollback => {
            let _held = state.lock()?;
            let saved = state.read("saved.nft")?.ok_or_else(|| {
                FirewallError::Refused(
                    "没有可恢复的规则：还没有运行过 govbox firewall apply".into(),
                )
            })?;
            nft::load(&saved)?;
            state.clear_pending()?;
            println!("已恢复应用前的防火墙规则");
            Ok(())
        }
        FirewallCmd::Status => status(site, file, &state),
        FirewallCmd::Boot => boot(&state),
        FirewallCmd::Unload => {
            nft::load(nft::REMOVE)?;
            println!("已移除 table inet govbox（其他表未改动）");
            Ok(())
        }
        FirewallCmd::Watch { state_dir, token } => watch(&state_dir, &token),
    }
}

fn checked(site: &SiteConfig, file: &Path) -> Result<String, FirewallError> {
    let interfaces = machine_interfaces();
    validate(site, file, interfaces.as_deref())?;
    let ruleset = render(site, file)?;
    nft::check(&ruleset)?;
    Ok(ruleset)
}

fn machine_interfaces() -> Option<Vec<String>> {
    let entries = std::fs::read_dir("/sys/class/net").ok()?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Some(names)
}

fn apply(site: &SiteConfig, file: &Path, state: &State, within: u64) -> Result<(), FirewallError> {
    let _held = state.lock()?;
    let expired = match state.pending()? {
        Some(p) if p.deadline > nft::now() => {
            return Err(FirewallError::Refused(format!(
                "上一次 apply 还在等待确认（{} 秒后自动恢复）：先运行 govbox firewall confirm 或 govbox firewall rollback",
                p.deadline - nft::now()
            )));
        }
        Some(_) => true,
        None => false,
    };
    let ruleset = checked(site, file)?;
    if expired {
        // The last apply ran out unconfirmed and nothing reverted it (its reverter was killed):
        // undo it first, or the way back saved below would be that unconfirmed ruleset.
        revert(state)?;
        println!("上一次 apply 超时未确认，已先恢复它之前的规则");
    }
    // The way back and the deadline are on disk before anything changes, so a crash at any
    // point from here leaves enough for the reverter or the boot unit to restore.
    state.write("saved.nft", nft::restore_script()?.as_bytes())?;
    let pending = Pending {
        deadline: nft::now() + within,
        token: crate::auth::session::random_token(),
    };
    state.set_pending(&pending)?;
    if let Err(e) = nft::load(&ruleset) {
        state.clear_pending()?;
        return Err(e);
    }
    state.write("applied.nft", ruleset.as_bytes())?;
    state.write(
        "applied.list",
        nft::loaded()?.unwrap_or_default().as_bytes(),
    )?;
    spawn_reverter(&state.dir, &pending.token)?;
    println!(
        "已应用新的防火墙规则。请在 {within} 秒内确认仍能访问本机，然后运行: govbox firewall confirm\n\
         否则将自动恢复原来的规则。"
    );
    Ok(())
}

/// The reverter runs in its own session with no terminal, so it survives the shell (or SSH
/// connection) that ran `apply` dying — which is exactly the case it exists for.
fn spawn_reverter(dir: &Path, token: &str) -> Result<(), FirewallError> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| FirewallError::Io("current_exe".into(), e))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["firewall", "watch", "--state-dir"])
        .arg(dir)
        .args(["--token", token])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    cmd.spawn()
        .map(|_| ())
        .map_err(|e| FirewallError::Io("firewall watch".into(), e))
}

/// The detached reverter: needs only the state dir, so it works even if site.toml changes
/// or becomes unreadable while it waits.
pub fn watch(state_dir: &Path, token: &str) -> Result<(), FirewallError> {
    let state = &State::new(state_dir);
    loop {
        {
            let _held = state.lock()?;
            let Some(p) = state.pending()? else {
                return Ok(());
            };
            if p.token != token {
                return Ok(());
            }
            if nft::now() >= p.deadline {
                return revert(state);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn revert(state: &State) -> Result<(), FirewallError> {
    let saved = state
        .read("saved.nft")?
        .unwrap_or_else(|| nft::REMOVE.to_string());
    nft::load(&saved)?;
    state.clear_pending()?;
    log::warn!("firewall change was not confirmed in time; previous ruleset restored");
    Ok(())
}

fn confirm(state: &State) -> Result<(), FirewallError> {
    let _held = state.lock()?;
    let Some(p) = state.pending()? else {
        return Err(FirewallError::Refused("没有等待确认的防火墙变更".into()));
    };
    if nft::now() >= p.deadline {
        revert(state)?;
        return Err(FirewallError::Refused(
            "确认超时：已恢复原来的规则。请重新运行 govbox firewall apply".into(),
        ));
    }
    let applied = state.read("applied.nft")?.unwrap_or_default();
    state.write("confirmed.nft", applied.as_bytes())?;
    state.clear_pending()?;
    println!("已确认，新的防火墙规则保持生效（开机时也会加载）");
    Ok(())
}

fn boot(state: &State) -> Result<(), FirewallError> {
    let _held = state.lock()?;
    if state.pending()?.is_some() {
        revert(state)?;
        println!("上次 apply 未确认：已加载应用前的规则");
        return Ok(());
    }
    match state.read("confirmed.nft")? {
        Some(confirmed) => {
            nft::load(&confirmed)?;
            println!("已加载已确认的防火墙规则");
        }
        None => println!("还没有已确认的防火墙规则，未加载任何规则"),
    }
    Ok(())
}

fn status(site: &SiteConfig, file: &Path, state: &State) -> Result<(), FirewallError> {
    let loaded = nft::loaded()?;
    let wanted = render(site, file)?;
    let applied = state.read("applied.nft")?;
    let applied_list = state.read("applied.list")?;
    match &loaded {
        None => println!("已加载: 无（没有 table inet govbox）"),
        Some(listing) if applied_list.as_deref() != Some(listing.as_str()) => {
            println!("已加载: table inet govbox，但与 govbox 上次应用的不同（被手工改动过）")
        }
        Some(_) => println!("已加载: govbox 上次应用的规则"),
    }
    let drift = loaded.is_none() || applied.as_deref() != Some(wanted.as_str());
    if drift {
        println!("与站点配置: 不一致（site.toml 描述的规则尚未应用；运行 govbox firewall apply）");
    } else {
        println!("与站点配置: 一致");
    }
    match state.pending()? {
        Some(p) if p.deadline > nft::now() => println!(
            "等待确认: 是，{} 秒后自动恢复（govbox firewall confirm 确认）",
            p.deadline - nft::now()
        ),
        Some(_) => println!(
            "等待确认: 已超时但没有恢复（自动恢复进程已不在）：运行 govbox firewall rollback 恢复应用前的规则"
        ),
        None => {}
    }
    if drift || applied_list.as_deref() != loaded.as_deref() {
        return Err(FirewallError::Refused("防火墙状态与站点配置不一致".into()));
    }
    Ok(())
}
