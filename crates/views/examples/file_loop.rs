#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store = store::Store::open(&args[1]).unwrap();
    let rules = rulebook::Rulebook::builtin().unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..300 {
        let f = views::credit_file(&store, &rules, &args[2], day, views::Audience::Full)
            .unwrap()
            .unwrap();
        std::hint::black_box(f);
    }
    eprintln!("{:?} per file", t.elapsed() / 300);
}
