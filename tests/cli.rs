//! The `argva` binary end to end: outputs written, readable and consistent; bad input gives a
//! clear error, a non-zero exit code and no files. Runs on the adapter `WGPU_BACKEND` picks.

use std::process::{Command, Output};

use argva::data::npy::read as npy_read;

fn argva(args: &[&str]) -> Output {
    argva::testing::require_gpu("the command-line tests");
    Command::new(env!("CARGO_BIN_EXE_argva"))
        .args(args)
        .output()
        .expect("the argva binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const GRAPH: &str = "sbm:nodes=300,classes=3,degree=8,features=32,seed=2,within=0.95";

use argva::testing::file_names as files;

#[test]
fn train_writes_everything_then_plot_and_embed_read_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = argva(&[
        GRAPH,
        "--model",
        "argva",
        "--epochs",
        "12",
        "--latent",
        "8",
        "--save-every",
        "5",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["config"]["epochs"], 12);
    assert_eq!(report["history"].as_array().unwrap().len(), 12);
    let auc = report["test"]["auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&auc));
    assert!(report["clustering"]["nmi"].as_f64().is_some());
    assert_eq!(
        files(&out),
        [
            "checkpoint-00005.safetensors",
            "checkpoint-00010.safetensors",
            "checkpoint-00012.safetensors",
            "embedding.csv",
            "embedding.npy",
            "history.csv",
            "labels.npy",
            "metrics.json",
            "model.safetensors",
            "test_neg.npy",
            "test_pos.npy",
            "val_neg.npy",
            "val_pos.npy",
        ]
    );

    // The files agree with each other: the embedding is N×d, the pairs E×2 with ids < N,
    // and the AUC recomputed from them equals the reported one.
    let emb = npy_read(&std::fs::read(out.join("embedding.npy")).unwrap()).unwrap();
    assert_eq!(emb.shape, vec![300, 8]);
    let pairs = |name: &str| npy_read(&std::fs::read(out.join(name)).unwrap()).unwrap();
    let (tp, tn) = (pairs("test_pos.npy"), pairs("test_neg.npy"));
    assert_eq!(tp.shape[1], 2);
    let score = |p: &[f64]| -> f64 {
        let (i, j) = (p[0] as usize, p[1] as usize);
        (0..8)
            .map(|k| emb.data[i * 8 + k] * emb.data[j * 8 + k])
            .sum()
    };
    let ps: Vec<f64> = tp.data.chunks(2).map(score).collect();
    let ns: Vec<f64> = tn.data.chunks(2).map(score).collect();
    assert!((argva::eval::roc_auc(&ps, &ns) - auc).abs() < 1e-6);

    let o = argva(&["plot", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["embedding.png", "embedding.svg", "curves.png", "curves.svg"] {
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert!(bytes.len() > 2000, "{f} is only {} bytes", bytes.len());
    }
    assert_eq!(
        &std::fs::read(out.join("curves.png")).unwrap()[..4],
        b"\x89PNG"
    );
    let pca_svg = std::fs::read(out.join("embedding.svg")).unwrap();
    let o = argva(&[
        "plot",
        out.to_str().unwrap(),
        "--projection",
        "tsne",
        "--perplexity",
        "20",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tsne_svg = std::fs::read(out.join("embedding.svg")).unwrap();
    assert!(tsne_svg.len() > 2000 && tsne_svg != pca_svg);
    assert!(String::from_utf8_lossy(&tsne_svg).contains("t-SNE"));

    let e = tmp.path().join("again.npy");
    let ck = out.join("model.safetensors");
    let o = argva(&[
        "embed",
        "--checkpoint",
        ck.to_str().unwrap(),
        GRAPH,
        "--out",
        e.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        npy_read(&std::fs::read(&e).unwrap()).unwrap().shape,
        vec![300, 8]
    );
    // Over the run's training edges, embed gives the run's own embedding back, bit for bit;
    // over every edge (the default) it differs, as `embed --help` says.
    let t = tmp.path().join("train-edges.npy");
    let o = argva(&[
        "embed",
        "--checkpoint",
        ck.to_str().unwrap(),
        GRAPH,
        "--message-edges",
        "train",
        "--out",
        t.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = std::fs::read(out.join("embedding.npy")).unwrap();
    assert_eq!(std::fs::read(&t).unwrap(), run);
    assert_ne!(std::fs::read(&e).unwrap(), run);
    // The same embedding as CSV: a header and one row per node, id first.
    let c = tmp.path().join("again.csv");
    let o = argva(&[
        "embed",
        "--checkpoint",
        ck.to_str().unwrap(),
        GRAPH,
        "--out",
        c.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(&c).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "node,z0,z1,z2,z3,z4,z5,z6,z7");
    assert_eq!(lines.len(), 301);
    assert!(lines[300].starts_with("299,") && lines[300].split(',').count() == 9);

    // Resuming the 5-epoch checkpoint to 12 epochs reproduces the uninterrupted run.
    let resumed = tmp.path().join("resumed");
    let ck5 = out.join("checkpoint-00005.safetensors");
    let o = argva(&[
        GRAPH,
        "--epochs",
        "12",
        "--resume",
        ck5.to_str().unwrap(),
        "--out",
        resumed.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(resumed.join("embedding.npy")).unwrap(),
        std::fs::read(out.join("embedding.npy")).unwrap()
    );
}

/// Messages found when tried as a new user would: each says what happened, once.
#[test]
fn messages_say_what_happened_once() {
    let tmp = tempfile::tempdir().unwrap();
    // A folder given as the graph: the OS's cause appears once, not twice.
    let o = argva(&["data", tmp.path().to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches("Is a directory").count(), 1, "{err}");
    // A negative node id: what ids may be, not a bogus graph size.
    let edges = tmp.path().join("neg.csv");
    std::fs::write(&edges, "0,1\n1,-3\n").unwrap();
    let o = argva(&["data", edges.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(
        err.contains("line 2: node id -3 is not allowed") && err.contains("from 0 to 4294967294"),
        "{err}"
    );
    assert!(!err.contains("4294967295 nodes"), "{err}");
    // Zero epochs: no per-epoch figure; the untrained model was evaluated.
    let o = argva(&[GRAPH, "--epochs", "0", "--no-save"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("the untrained model") && !out.contains("ms/epoch"),
        "{out}"
    );
    // No discriminator steps on an adversarial model: refused, with the reason.
    let o = argva(&[GRAPH, "--model", "arga", "--disc-steps", "0", "--no-save"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("--disc-steps 0") && err.contains("gae"),
        "{err}"
    );
    // `embed --help` says which edges carry messages.
    let o = argva(&["embed", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("--message-edges") && help.contains("training edges only"),
        "{help}"
    );
}

/// A user's fresh install: no data folder, no ARGVA_DATA, no network needed.
#[test]
fn cora_and_citeseer_come_from_the_binary_in_an_empty_folder() {
    let empty = tempfile::tempdir().unwrap();
    for name in ["cora", "citeseer"] {
        let o = Command::new(env!("CARGO_BIN_EXE_argva"))
            .args(["data", name, "--offline", "--json"])
            .current_dir(empty.path())
            .env_remove("ARGVA_DATA")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(summary["source"], "argva's embedded copy", "{summary}");
        assert!(summary["nodes"].as_u64().unwrap() > 2700, "{summary}");
    }
    assert!(files(empty.path()).is_empty(), "nothing written");
}

#[test]
fn bad_input_fails_clearly_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o_arg = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["no-such-graph.csv", "--out", o_arg], "no such file"),
        (vec!["sbm:nodes=0", "--out", o_arg], "sbm"),
        (
            vec![GRAPH, "--epochs", "3", "--latent", "0", "--out", o_arg],
            "--latent",
        ),
        (
            vec![
                GRAPH,
                "--val-frac",
                "0.6",
                "--test-frac",
                "0.5",
                "--out",
                o_arg,
            ],
            "leave edges",
        ),
        (
            vec![
                "pubmed",
                "--data-root",
                "/nonexistent",
                "--offline",
                "--out",
                o_arg,
            ],
            "ind.pubmed",
        ),
        // The dense N² loss is refused on graphs where an epoch would take hours.
        (
            vec![
                "sbm:nodes=50001,degree=4",
                "--recon",
                "dense",
                "--out",
                o_arg,
            ],
            "--recon sampled",
        ),
        // Mini-batch settings no run can use.
        (
            vec!["cora", "--gpu-memory", "1", "--out", o_arg],
            "cannot hold even one batch",
        ),
        (
            vec!["cora", "--gpu-memory", "0", "--out", o_arg],
            "the budget must be at least 1 MiB",
        ),
        (
            vec!["cora", "--gpu-memory", "99999999999999999", "--out", o_arg],
            "more bytes than a 64-bit count holds",
        ),
        (
            vec![GRAPH, "--batch", "parts=4,per=5", "--out", o_arg],
            "per=5 is more than parts=4",
        ),
        (
            vec![GRAPH, "--batch", "parts=400", "--out", o_arg],
            "number of parts must lie in 1..=300",
        ),
        (
            vec![
                GRAPH, "--batch", "parts=4", "--recipe", "paper", "--out", o_arg,
            ],
            "not --recipe paper",
        ),
        (
            vec![
                GRAPH, "--batch", "parts=4", "--select", "val", "--out", o_arg,
            ],
            "--select val",
        ),
        // Divergence stops training with the epoch and the loss named, and saves nothing.
        (
            vec![GRAPH, "--lr", "1e30", "--epochs", "30", "--out", o_arg],
            "diverged at epoch",
        ),
    ];
    for (args, needle) in cases {
        let o = argva(&args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let err = stderr(&o);
        assert!(
            err.contains(needle),
            "{args:?}: error `{err}` does not mention `{needle}`"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert!(
            files(&out).is_empty(),
            "{args:?} left files: {:?}",
            files(&out)
        );
    }

    // A corrupt checkpoint, and a missing one.
    let bad = tmp.path().join("bad.safetensors");
    std::fs::write(&bad, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json").unwrap();
    for ck in [bad.to_str().unwrap(), "/nonexistent/model.safetensors"] {
        let e = tmp.path().join("e.npy");
        let o = argva(&[
            "embed",
            "--checkpoint",
            ck,
            GRAPH,
            "--out",
            e.to_str().unwrap(),
        ]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("checkpoint"), "{}", stderr(&o));
        assert!(!e.exists());
    }
}

#[test]
fn bench_json_costs_and_times_every_launch() {
    let o = argva(&[
        "bench", GRAPH, "--model", "argva", "--epochs", "2", "--warmup", "1", "--latent", "8",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = &r["epoch"];
    let (min, med, max) = (
        e["min_ms"].as_f64().unwrap(),
        e["median_ms"].as_f64().unwrap(),
        e["max_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= med && med <= max, "{e}");
    // The model's buffers only: the calibration's 128 MiB of copy buffers must not count.
    let gpu = r["gpu_buffer_mib"].as_f64().unwrap();
    assert!(0.0 < gpu && gpu < 16.0, "{gpu} MiB");
    // Negatives are drawn and the slot lists built on the GPU (the positives, their CSR and
    // ranks were uploaded once): a steady-state epoch uploads only its 16-byte clock
    // (epoch index + padding). With host negatives it was the pair list (1020 positives + as
    // many negatives, two u32 each), its slot index (301 pointers, two slots a pair) and the
    // clock: 4·4080 + 4·301 + 4·4080 + 16 = 33 860 bytes.
    assert_eq!(r["host_to_gpu_bytes_per_epoch"].as_f64().unwrap(), 16.0);
    let kernels = r["kernels"].as_array().unwrap();
    if kernels.is_empty() {
        return; // adapter without timestamp queries: nothing more to check
    }
    let calls: u64 = kernels.iter().map(|k| k["calls"].as_u64().unwrap()).sum();
    assert_eq!(calls, r["dispatches_per_epoch"].as_u64().unwrap());
    for k in kernels {
        assert!(k["flops"].as_f64().unwrap() > 0.0, "no FLOP count: {k}");
        assert!(k["bytes"].as_f64().unwrap() > 0.0, "no byte count: {k}");
    }
    // The encoder's one NT product, G2·W_headᵀ (N × 16 × 16); the discriminator is fused:
    // 5 steps over 2N rows and the regulariser over N rows, each counting its forward
    // (8·64 + 64·64 + 64 multiply-adds a row), da1 (64·64) and either the weight gradients
    // (as many as the forward) or dx (8·64).
    let nt = kernels.iter().find(|k| k["kernel"] == "matmul NT").unwrap();
    assert_eq!(nt["calls"], 1);
    assert_eq!(nt["flops"].as_f64().unwrap(), (2 * 300 * 16 * 16) as f64);
    let forward = 8 * 64 + 64 * 64 + 64;
    let step = kernels
        .iter()
        .find(|k| k["kernel"] == "disc_fused step")
        .unwrap();
    assert_eq!(step["calls"], 5);
    let step_flops = 5 * 2 * 600 * (2 * forward + 64 * 64);
    assert_eq!(step["flops"].as_f64().unwrap(), step_flops as f64);
    let reg = kernels
        .iter()
        .find(|k| k["kernel"] == "disc_fused reg")
        .unwrap();
    assert_eq!(reg["calls"], 1);
    let reg_flops = 2 * 300 * (forward + 64 * 64 + 8 * 64);
    assert_eq!(reg["flops"].as_f64().unwrap(), reg_flops as f64);
}

#[test]
fn bench_scale_reports_a_row_per_size() {
    let o = argva(&[
        "bench",
        "--scale",
        "--scale-max",
        "10000",
        "--model",
        "gae",
        "--epochs",
        "1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["nodes"], 10000);
    assert_eq!(rows[0]["edges"], 100000);
    assert!(rows[0]["epoch_ms"].as_f64().unwrap() > 0.0);
    assert!(rows[0].get("error").is_none());
}

/// `argva reproduce` on a small plan: every cell of the tables (link prediction, clustering at
/// the last and the best-validation epoch) for both recipes, the paper's number and a verdict
/// where one is published, and the JSON with one row of metrics per seed.
#[test]
fn reproduce_writes_both_tables_beside_the_paper() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rep");
    let o = argva(&[
        "reproduce",
        "--quick",
        "--epochs",
        "2",
        "--datasets",
        "cora",
        "--models",
        "gae",
        "--recipes",
        "paper,pyg",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("reproduce.md")).unwrap();
    for row in ["| Cora | gae | paper | 2 |", "| Cora | gae | pyg | 2 |"] {
        assert_eq!(md.matches(row).count(), 3, "{row} in\n{md}");
    }
    assert!(md.contains("(0.910: ") && md.contains("(0.920: "), "{md}");
    assert!(
        md.contains("| best val AUC |") && md.contains("| last |"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("reproduce.json")).unwrap()).unwrap();
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6);
    for c in cells {
        let runs = c["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2, "two seeds");
        for r in runs {
            let r = r.as_array().unwrap();
            assert!(
                r.iter().all(|v| (0.0..=1.0).contains(&v.as_f64().unwrap())),
                "{r:?}"
            );
        }
    }
}

/// One reproduce run serves both tables: under the paper recipe, the clustering cells are
/// the embedding of iteration 50 (and the best on validation up to it) of the longer link
/// prediction run, and equal what separate 50-iteration runs of `argva train` give.
#[test]
fn reproduce_clusters_iteration_50_as_a_separate_run_would() {
    let graph = "sbm:nodes=120,classes=4,degree=6,features=8,seed=3,within=0.5";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rep");
    let o = argva(&[
        "reproduce",
        "--seeds",
        "1",
        "--datasets",
        graph,
        "--models",
        "arga",
        "--recipes",
        "paper",
        "--epochs",
        "56",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("reproduce.json")).unwrap()).unwrap();
    let cells = json["cells"].as_array().unwrap();
    let runs = |i: usize| cells[i]["runs"][0].clone();
    let train = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "train",
            graph,
            "--recipe",
            "paper",
            "--model",
            "arga",
            "--json",
            "--no-save",
            "-q",
        ];
        args.extend_from_slice(extra);
        let o = argva(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let metrics = |v: &serde_json::Value| -> serde_json::Value {
        let c = &v["clustering"];
        serde_json::json!([c["acc"], c["nmi"], c["nmi_geometric"], c["ari"]])
    };
    let link = train(&["--epochs", "56"]);
    assert_eq!(
        runs(0),
        serde_json::json!([link["test"]["auc"], link["test"]["ap"]])
    );
    assert_eq!(cells[1]["epochs"], 50);
    assert_eq!(runs(1), metrics(&train(&["--epochs", "50"])));
    let best = train(&["--epochs", "50", "--select", "val", "--val-every", "2"]);
    assert!(
        best["selected_epoch"].as_u64().unwrap() < 50,
        "a harder graph's test"
    );
    assert_eq!(runs(2), metrics(&best));
}

/// `reproduce --resume` keeps the runs reproduce.json holds and adds the missing seeds: the
/// tables equal one uninterrupted reproduce's.
#[test]
fn reproduce_resumes_with_the_seeds_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let graph = "sbm:nodes=80,classes=2,degree=6,features=8,seed=4";
    let reproduce = |out: &std::path::Path, seeds: &str, resume: bool| -> serde_json::Value {
        let mut args = vec![
            "reproduce",
            "--seeds",
            seeds,
            "--datasets",
            graph,
            "--models",
            "gae,arga",
            "--recipes",
            "paper,pyg",
            "--epochs",
            "3",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ];
        if resume {
            args.push("--resume");
        }
        let o = argva(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&std::fs::read(out.join("reproduce.json")).unwrap()).unwrap()
    };
    let whole = reproduce(&dir.path().join("whole"), "3", false);
    let part = dir.path().join("part");
    let first = reproduce(&part, "1", false);
    assert_eq!(first["cells"][0]["seeds"], serde_json::json!([0]));
    let resumed = reproduce(&part, "3", true);
    assert_eq!(resumed["cells"], whole["cells"]);
    assert_eq!(resumed["cells"][0]["seeds"], serde_json::json!([0, 1, 2]));
    let again = reproduce(&part, "3", true);
    assert_eq!(again["cells"], whole["cells"], "nothing left to run");
}

/// The paper recipe's run stopped and resumed gives the uninterrupted run's bytes: the
/// checkpoint carries the generator step's own Adam moments, and every draw is a function of
/// (seed, epoch).
#[test]
fn a_paper_recipe_run_resumes_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, half, rest) = (
        dir.path().join("whole"),
        dir.path().join("half"),
        dir.path().join("rest"),
    );
    let run = |out: &std::path::Path, epochs: &str, resume: Option<&std::path::Path>| {
        let mut args = vec![
            "train",
            "sbm:nodes=300,classes=3,degree=6,features=20,seed=2",
            "--recipe",
            "paper",
            "--model",
            "arga",
            "--epochs",
            epochs,
            "-q",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(ck) = resume {
            args.extend(["--resume", ck.to_str().unwrap()]);
        }
        let o = argva(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&whole, "4", None);
    run(&half, "2", None);
    run(&rest, "4", Some(&half.join("model.safetensors")));
    for name in ["embedding.npy", "model.safetensors"] {
        let a = std::fs::read(whole.join(name)).unwrap();
        let b = std::fs::read(rest.join(name)).unwrap();
        assert!(a == b, "{name} differs from the uninterrupted run's");
    }
    let ck = std::fs::read(whole.join("model.safetensors")).unwrap();
    let names = safetensors::SafeTensors::deserialize(&ck)
        .unwrap()
        .names()
        .len();
    assert!(
        String::from_utf8_lossy(&ck).contains("generator_adam.exp_avg_sq.encoder.conv1.lin.weight"),
        "the generator's moments are saved ({names} tensors)"
    );
}

/// `--batch` trains Cluster-GCN steps and reports them; `--gpu-memory` alone picks batches
/// within the budget; the same seed gives the same results.
#[test]
fn minibatch_runs_report_their_batches_and_repeat() {
    let run = |args: &[&str]| -> serde_json::Value {
        let o = argva(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let base = ["train", GRAPH, "--epochs", "3", "--json", "--no-save", "-q"];
    let r = run(&[&base[..], &["--batch", "parts=4,per=2"]].concat());
    let b = &r["batches"];
    assert_eq!(
        (b["parts"].as_u64(), b["per_batch"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(b["steps"].as_u64(), Some(6));
    assert!(b["embedding"]["chunks"].as_u64().unwrap() >= 1);
    let (wait, total) = (&b["embedding"]["wait_seconds"], &b["embedding"]["seconds"]);
    assert!(
        wait.as_f64().unwrap() > 0.0 && wait.as_f64() <= total.as_f64(),
        "{b}"
    );
    assert_eq!(r["clustering"]["kmeans"], "exact");
    assert!(r["test"]["auc"].as_f64().unwrap() > 0.5, "{}", r["test"]);
    assert_eq!(r["history"].as_array().unwrap().len(), 3);

    let budget = [
        "train",
        "cora",
        "--gpu-memory",
        "6",
        "--epochs",
        "2",
        "--json",
        "--no-save",
    ];
    let a = run(&[&budget[..], &["-q"]].concat());
    let b = &a["batches"];
    assert!(b["gpu_bytes"].as_u64().unwrap() <= 6 << 20, "{b}");
    assert!(
        b["embedding"]["gpu_bytes"].as_u64().unwrap() <= 6 << 20,
        "{b}"
    );
    assert!(b["steps"].as_u64().unwrap() >= 2 * 2, "{b}");
    let again = run(&[&budget[..], &["-q"]].concat());
    assert_eq!(a["test"], again["test"]);
    assert_eq!(a["clustering"], again["clustering"]);
    // Without the flags Cora trains full batch.
    let full = run(&[
        "train",
        "cora",
        "--epochs",
        "2",
        "--json",
        "--no-save",
        "-q",
    ]);
    assert!(full.get("batches").is_none());
}

/// One report shape: `argva train --json` prints what the library's job reports for the same
/// settings given as the page and the Python module send them (`RunOptions` JSON), value
/// for value but the clocks.
#[test]
fn the_command_lines_report_is_the_library_jobs_report() {
    let o = argva(&[
        GRAPH,
        "--model",
        "gae",
        "--epochs",
        "4",
        "--latent",
        "8",
        "--seed",
        "1",
        "--json",
        "--no-save",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut cli: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();

    let options = r#"{"model": "gae", "seed": 1, "overrides": {"epochs": 4, "latent": 8}}"#;
    let options: argva::run::RunOptions = serde_json::from_str(options).unwrap();
    let settings = options.settings("").unwrap();
    let graph = argva::data::load(GRAPH, &Default::default()).unwrap();
    let ctx = argva::gpu::GpuContext::new_blocking().unwrap();
    let out = pollster::block_on(argva::run::run(&ctx, &graph, &settings, None, &mut ()));
    let out = out.unwrap();
    let mut library: serde_json::Value = serde_json::from_str(&out.report.to_json()).unwrap();
    for report in [&mut cli, &mut library] {
        let fields = report.as_object_mut().unwrap();
        for clock in ["wall_seconds", "train_seconds"] {
            assert!(
                fields
                    .remove(clock)
                    .is_some_and(|v| v.as_f64().unwrap() >= 0.0)
            );
        }
    }
    assert_eq!(cli, library);
}

/// `argva partition`: the same bytes twice, the manifest last and true to its files; a
/// folder already holding files, or no ranks, is refused before anything is written.
#[test]
fn partition_writes_the_same_shards_twice_and_refuses_an_occupied_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        let o = argva(&[
            "partition",
            GRAPH,
            "--ranks",
            "3",
            "--seed",
            "4",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["ranks"], 3);
    for shard in manifest["shards"].as_array().unwrap() {
        let folder = shard["folder"].as_str().unwrap();
        for file in shard["files"].as_array().unwrap() {
            let (name, sum) = (file[0].as_str().unwrap(), file[1].as_str().unwrap());
            let (x, y) = (
                std::fs::read(a.join(folder).join(name)).unwrap(),
                std::fs::read(b.join(folder).join(name)).unwrap(),
            );
            assert!(x == y, "{folder}/{name} differs between two runs");
            assert_eq!(argva::dist::shard::sha256_hex(&x), sum);
        }
    }
    let o = argva(&[
        "partition",
        GRAPH,
        "--ranks",
        "2",
        "--out",
        a.to_str().unwrap(),
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("is not empty"),
        "{}",
        stderr(&o)
    );
    let empty = tmp.path().join("c");
    let o = argva(&[
        "partition",
        GRAPH,
        "--ranks",
        "0",
        "--out",
        empty.to_str().unwrap(),
    ]);
    assert!(!o.status.success() && stderr(&o).contains("--ranks must be at least 1"));
    assert!(!empty.exists(), "nothing written");
}
