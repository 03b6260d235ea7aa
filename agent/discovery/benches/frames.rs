//! Rough throughput of `frame::parse` on one core over a mix of one frame per protocol (the
//! fuzz seeds in `fuzz/seeds/discovery_frame/`), with an ignored and a truncated frame in the
//! mix. No criterion: `cargo bench -p census-discovery --bench frames` prints frames/s.

use std::hint::black_box;
use std::time::{Duration, Instant};

use census_discovery::frame;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/discovery_frame");
    let mut frames: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    frames.sort();
    // An unrelated TCP segment and a cut frame, as a capture holds them.
    let tcp = {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 40];
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0; 20]);
        f
    };
    frames.push(("tcp".into(), tcp));
    frames.push(("cut".into(), frames[0].1[..20].to_vec()));

    let mut out = Vec::with_capacity(1);
    for (name, frame) in &frames {
        out.clear();
        let result = frame::parse(frame, &mut out);
        println!("{name:>10}: {:?}", result.map(|()| out.len()));
    }
    let per_kind = Duration::from_millis(200);
    let mut total = (0u64, Duration::ZERO);
    for (name, frame) in &frames {
        let (n, took) = run(frame, per_kind);
        println!("{name:>10}: {:>6.2} M frames/s", n as f64 / took.as_secs_f64() / 1e6);
        total = (total.0 + n, total.1 + took);
    }
    // The mix, round robin.
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for (_, frame) in &frames {
            out.clear();
            let _ = black_box(frame::parse(black_box(frame), &mut out));
            n += 1;
        }
    }
    println!("       mix: {:>6.2} M frames/s", n as f64 / start.elapsed().as_secs_f64() / 1e6);
}

fn run(frame: &[u8], for_at_least: Duration) -> (u64, Duration) {
    let mut out = Vec::with_capacity(1);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < for_at_least {
        for _ in 0..1000 {
            out.clear();
            let _ = black_box(frame::parse(black_box(frame), &mut out));
        }
        n += 1000;
    }
    (n, start.elapsed())
}
