//! Order-keeping parallel map for the batch work (review, result files, sealing): seconds of
//! pure CPU work that would otherwise leave the other cores idle.

/// Threads batch work may use: every core, at most four (a server has other requests to serve).
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
}

/// Maps `items` to results on `threads()` threads, in order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_on(threads(), items, f)
}

/// Maps `items` to results on up to `threads` threads (each a contiguous share), in order.
pub fn map_on<T: Sync, R: Send>(threads: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if threads < 2 || items.len() < 2 {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    let parts: Vec<Vec<R>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    parts.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_order_of_the_items_on_any_thread_count() {
        let items: Vec<u32> = (0..1001).collect();
        for threads in [1, 2, 3, 4, 2000] {
            let out = super::map_on(threads, &items, |n| n * 2);
            assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        }
    }
}
