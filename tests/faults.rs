//! Faults injected into real `argva train` runs: SIGKILL at random moments (and mid-write),
//! Ctrl-C, and a full file system. What must hold: the output folder never has a
//! half-written or corrupt file under a result's name, a resumed run ends bit-identical to an
//! uninterrupted one, and a write that fails names its file and keeps what was there.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use argva::checkpoint::Checkpoint;
use argva::data::npy::read as npy_read;

const GRAPH: &str = "sbm:nodes=600,classes=3,degree=8,features=48,seed=4";
const EPOCHS: u32 = 150;
const SAVE_EVERY: &str = "10";

fn run_args(out: &Path) -> Vec<String> {
    [
        GRAPH,
        "--model",
        "argva",
        "--seed",
        "5",
        "--epochs",
        &EPOCHS.to_string(),
        "--save-every",
        SAVE_EVERY,
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn argva() -> Command {
    argva::testing::require_gpu("the fault-injection tests");
    Command::new(env!("CARGO_BIN_EXE_argva"))
}

fn finish(child: Child) -> Output {
    child.wait_with_output().expect("argva ran")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

use argva::testing::file_names as names;

/// Every result under its own name is whole and readable; returns the latest checkpoint.
fn check_folder(dir: &Path) -> Option<(u32, PathBuf)> {
    let mut latest: Option<(u32, PathBuf)> = None;
    for name in names(dir) {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).unwrap();
        if name.ends_with(".safetensors") {
            let ck = Checkpoint::from_bytes(&bytes)
                .unwrap_or_else(|e| panic!("{name} is not a whole checkpoint: {e}"));
            if name.starts_with("checkpoint-")
                && latest.as_ref().is_none_or(|l| ck.epochs_done > l.0)
            {
                latest = Some((ck.epochs_done, path));
            }
        } else if name.ends_with(".npy") {
            npy_read(&bytes).unwrap_or_else(|e| panic!("{name} is not a whole .npy: {e}"));
        } else if name.ends_with(".json") {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{name} is not whole JSON: {e}"));
        } else if name.ends_with(".csv") {
            assert!(bytes.ends_with(b"\n"), "{name} ends mid-line");
        } else {
            assert!(
                name.starts_with(".argva-partial-"),
                "unexpected file {name}"
            );
        }
    }
    latest
}

fn has_partial(dir: &Path) -> bool {
    names(dir).iter().any(|n| n.starts_with(".argva-partial-"))
}

/// xorshift: the kill moments are random but the same on every run of the test.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo)
    }
}

enum Kill {
    After(Duration),
    /// This long after the run's next checkpoint appears: each such kill lands after
    /// progress, so the run is killed as often as asked whatever the device's speed.
    AfterCheckpoint(Duration),
    /// As soon as a temporary result file shows up: the kill lands inside a write.
    MidWrite,
}

/// Runs until done or killed; true when the run finished by itself.
fn run_once(args: &[String], dir: &Path, kill: Kill) -> bool {
    let mut child = argva()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let checkpoints = |d: &Path| {
        names(d)
            .iter()
            .filter(|n| n.starts_with("checkpoint-"))
            .count()
    };
    let before = checkpoints(dir);
    let mut seen: Option<Instant> = None;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let o = finish(child);
            assert!(status.success(), "argva failed: {}", stderr(&o));
            return true;
        }
        let due = match kill {
            Kill::After(d) => started.elapsed() >= d,
            Kill::MidWrite => has_partial(dir) || started.elapsed() > Duration::from_secs(60),
            Kill::AfterCheckpoint(d) => {
                if seen.is_none() && checkpoints(dir) > before {
                    seen = Some(Instant::now());
                }
                seen.is_some_and(|t| t.elapsed() >= d)
            }
        };
        if due {
            child.kill().unwrap();
            child.wait().unwrap();
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn killed_runs_leave_whole_files_and_resume_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let t = Instant::now();
    let finished = run_once(
        &run_args(&reference),
        &reference,
        Kill::After(Duration::MAX),
    );
    assert!(finished);
    // Kill moments are fractions of an uninterrupted run, so a faster device is killed as often.
    let whole = t.elapsed().as_millis() as u64;

    let dir = tmp.path().join("killed");
    let mut moments = Moments(0x9e3779b97f4a7c15);
    let (mut kills, mut mid_write) = (0, 0);
    for attempt in 0.. {
        let mut args = run_args(&dir);
        if let Some((_, ck)) = check_folder(&dir) {
            args.extend(["--resume".into(), ck.to_str().unwrap().into()]);
        }
        let kill = match attempt {
            a if a >= 12 => Kill::After(Duration::MAX),
            a if a % 3 == 2 => Kill::MidWrite,
            a if a < 2 => Kill::After(Duration::from_millis(
                moments.next_ms(whole / 30, whole / 4),
            )),
            _ => Kill::AfterCheckpoint(Duration::from_millis(moments.next_ms(0, whole / 20))),
        };
        let is_mid_write = matches!(kill, Kill::MidWrite);
        if run_once(&args, &dir, kill) {
            break;
        }
        kills += 1;
        mid_write += is_mid_write as u32;
        check_folder(&dir);
    }
    eprintln!(
        "{kills} kills ({mid_write} as a temporary file was being written), then a finished run"
    );
    assert!(
        kills >= 10,
        "the run finished before it could be killed often enough"
    );
    assert!(
        !has_partial(&dir),
        "a finished run leaves no temporary file"
    );
    for name in ["embedding.npy", "model.safetensors"] {
        let a = std::fs::read(reference.join(name)).unwrap();
        let b = std::fs::read(dir.join(name)).unwrap();
        assert!(a == b, "{name} differs from the uninterrupted run's");
    }
}

#[test]
fn ctrl_c_saves_a_checkpoint_and_says_how_to_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    assert!(run_once(
        &run_args(&reference),
        &reference,
        Kill::After(Duration::MAX)
    ));
    let dir = tmp.path().join("run");
    let child = argva()
        .args(run_args(&dir))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once training is under way (its first checkpoint is written).
    let started = Instant::now();
    while !dir.join("checkpoint-00010.safetensors").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "training never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let o = finish(child);
    let text = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{text}");
    assert!(
        text.contains("interrupted: stopping after the current epoch"),
        "{text}"
    );
    let resume = text
        .split("Resume with: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no resume command in: {text}"));
    let words: Vec<&str> = resume.split_whitespace().collect();
    assert_eq!(&words[..2], &["argva", "train"]);
    let (done, ck) = check_folder(&dir).expect("a checkpoint was saved");
    assert!(done > 10 && done < EPOCHS, "stopped at epoch {done}");
    assert!(
        text.contains(&format!("training stopped after epoch {done} of {EPOCHS}")),
        "{text}"
    );
    assert!(resume.contains(ck.to_str().unwrap()), "{text}");
    let o = argva().args(&words[2..]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["embedding.npy", "model.safetensors"] {
        let a = std::fs::read(reference.join(name)).unwrap();
        let b = std::fs::read(dir.join(name)).unwrap();
        assert!(a == b, "{name} differs from the uninterrupted run's");
    }
}

/// A small tmpfs, unmounted when dropped; `None` (and the reason printed) where mounting is
/// not allowed (not root, or a container without CAP_SYS_ADMIN).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, bytes: usize) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let size = format!("size={bytes}");
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &size, "tmpfs", at.to_str().unwrap()])
            .output();
        match o {
            Ok(o) if o.status.success() => Some(SmallDisk(at.into())),
            Ok(o) => {
                eprintln!("skipped: cannot mount a tmpfs here: {}", stderr(&o).trim());
                None
            }
            Err(e) => {
                eprintln!("skipped: no mount command: {e}");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_names_the_file_and_keeps_what_was_there() {
    let tmp = tempfile::tempdir().unwrap();
    // Room for embedding.npy (2708 × 32 float32, 346 KiB) but not for embedding.csv.
    let Some(disk) = SmallDisk::mount(&tmp.path().join("disk"), 420 << 10) else {
        return;
    };
    let dir = &disk.0;
    std::fs::write(dir.join("metrics.json"), b"{\"old\": true}").unwrap();
    let o = argva()
        .args([
            "cora",
            "--epochs",
            "1",
            "-q",
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let csv = dir.join("embedding.csv");
    assert!(
        text.contains(&format!("writing {}", csv.display())),
        "{text}"
    );
    assert!(text.contains("No space left on device"), "{text}");
    assert_eq!(
        std::fs::read(dir.join("metrics.json")).unwrap(),
        b"{\"old\": true}"
    );
    assert!(!csv.exists() && !has_partial(dir), "{:?}", names(dir));
    let emb = npy_read(&std::fs::read(dir.join("embedding.npy")).unwrap()).unwrap();
    assert_eq!(emb.shape, vec![2708, 32]);
    check_folder(dir);
}
