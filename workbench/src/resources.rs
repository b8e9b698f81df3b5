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

/// Free memory of CUDA device 0 in bytes (total less used, as `nvidia-smi` reports them),
/// or `None` where `nvidia-smi` is absent or reports no device. A GPU run's weights, Adam
/// moments and activations live there, so that is the memory its estimate must fit.
pub fn gpu_free_bytes() -> Option<u64> {
    let output = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=memory.total,memory.used",
            "--format=csv,noheader,nounits",
            "--id=0",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    free_mib(&String::from_utf8_lossy(&output.stdout)).map(|mib| mib << 20)
}

/// Total less used MiB from `nvidia-smi`'s `total, used` line.
fn free_mib(line: &str) -> Option<u64> {
    let mut fields = line.trim().split(',').map(|f| f.trim().parse::<u64>());
    let (Some(Ok(total)), Some(Ok(used))) = (fields.next(), fields.next()) else {
        return None;
    };
    Some(total.saturating_sub(used))
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
    fn nvidia_smi_free_memory_is_total_less_used() {
        assert_eq!(super::free_mib("81559, 1024\n"), Some(80535));
        assert_eq!(super::free_mib("No devices were found"), None);
        assert_eq!(super::free_mib(""), None);
    }

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
