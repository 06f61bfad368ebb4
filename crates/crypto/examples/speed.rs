fn main() {
    let k = crypto::KeyRing::generate().unwrap();
    let data = vec![0x5au8; 64 << 20];
    let t = std::time::Instant::now();
    let d = crypto::sm3(&data);
    let s3 = t.elapsed();
    let t = std::time::Instant::now();
    let c = k.encrypt(&data).unwrap();
    let s4 = t.elapsed();
    let t = std::time::Instant::now();
    let mut n = 0u8;
    for i in 0..1_000_000u32 {
        n ^= k.keyed_hash(&i.to_le_bytes())[0];
    }
    let h = t.elapsed();
    println!(
        "sm3 {:.0} MB/s, sm4-gcm {:.0} MB/s, hmac {:?}/op {} {} {}",
        64.0 / s3.as_secs_f64(),
        64.0 / s4.as_secs_f64(),
        h / 1_000_000,
        d[0],
        c.len(),
        n
    );
}
