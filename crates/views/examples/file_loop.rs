//! Profiling aid: builds one subject's credit file over and over and prints the spread of the
//! times, the store's read alone beside it. `cargo run --release -p views --example file_loop
//! -- <store> <subject key> [rounds]`.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn spread(mut t: Vec<f64>) -> String {
    t.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| t[((t.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {:.2} p90 {:.2} p99 {:.2} max {:.2} ms",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store = store::Store::open(&args[1]).unwrap();
    let rules = rulebook::Rulebook::builtin().unwrap();
    let rounds: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let day = domain::clock::beijing(chrono::Utc::now()).date_naive();
    let (mut file, mut read) = (Vec::new(), Vec::new());
    for i in 0..rounds + 100 {
        let t = std::time::Instant::now();
        let f = views::credit_file(&store, &rules, &args[2], day, views::Audience::Full)
            .unwrap()
            .unwrap();
        let took = t.elapsed().as_secs_f64() * 1e3;
        std::hint::black_box(f);
        let t = std::time::Instant::now();
        let r = store.subject_file(&args[2], None).unwrap();
        let took_read = t.elapsed().as_secs_f64() * 1e3;
        std::hint::black_box(r);
        if i >= 100 {
            file.push(took);
            read.push(took_read);
        }
    }
    println!("file {}", spread(file));
    println!("read {}", spread(read));
}
