//! What the process itself used, read from the operating system.

/// The process's peak resident set size in bytes (Linux `VmHWM`), or `None` where the
/// system does not report it.
pub fn peak_rss_bytes() -> Option<u64> {
    proc_bytes("/proc/self/status", "VmHWM:")
}

/// Memory available to new allocations in bytes (Linux `MemAvailable`), or `None` where
/// the system does not report it.
pub fn available_bytes() -> Option<u64> {
    proc_bytes("/proc/meminfo", "MemAvailable:")
}

/// The `key: N kB` line of a `/proc` file, in bytes.
fn proc_bytes(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn peak_rss_covers_a_buffer_the_test_touched() {
        let buffer = vec![1u8; 64 << 20];
        let peak = super::peak_rss_bytes().expect("Linux reports VmHWM");
        assert!(
            peak >= 64 << 20,
            "peak {peak} below a touched 64 MiB buffer"
        );
        assert_eq!(buffer.iter().map(|&b| b as usize).sum::<usize>(), 64 << 20);
        assert!(super::available_bytes().is_some_and(|b| b > 0));
    }
}
