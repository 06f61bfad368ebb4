//! Who runs a command, for the audit trail: the operating system's account of the process, not
//! `$USER`, which whoever starts the process sets to anything.

use std::os::unix::fs::MetadataExt;

/// The OS account the command runs as (`root`, `alice`, `uid:1001` when /etc/passwd does not
/// name it), the `sudo` caller beside it, and the host: `root(sudo:alice)@host`.
pub fn os_operator() -> String {
    let user = name_of_uid(effective_uid());
    // SUDO_USER is set by sudo; it only adds to the account read from the kernel.
    let sudo = std::env::var("SUDO_USER")
        .ok()
        .map(|s| clean(&s))
        .filter(|s| !s.is_empty() && *s != user)
        .map(|s| format!("(sudo:{s})"))
        .unwrap_or_default();
    match hostname() {
        Some(h) => format!("{user}{sudo}@{h}"),
        None => format!("{user}{sudo}"),
    }
}

/// The audit actor: `cli:` and the OS operator, with a name given by `--actor` beside it
/// (`cli:root@host as 李四`) — it says whom the operator acted for, not who acted.
pub fn audit_actor(claimed: Option<&str>) -> String {
    let os = os_operator();
    match claimed.map(clean).filter(|c| !c.is_empty()) {
        Some(c) => format!("cli:{os} as {c}"),
        None => format!("cli:{os}"),
    }
}

fn effective_uid() -> u32 {
    // /proc/self belongs to the process's effective uid; libc's answer when /proc is absent.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        // SAFETY: geteuid cannot fail and touches no memory of ours.
        .unwrap_or_else(|_| unsafe { libc::geteuid() })
}

fn name_of_uid(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| user_in_passwd(&p, uid))
        .unwrap_or_else(|| format!("uid:{uid}"))
}

/// The first account of `uid` in an /etc/passwd text.
fn user_in_passwd(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        f.next()?;
        (f.next()?.trim().parse::<u32>().ok()? == uid && !name.is_empty()).then(|| name.into())
    })
}

fn hostname() -> Option<String> {
    ["/etc/hostname", "/proc/sys/kernel/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| clean(&h))
        .find(|h| !h.is_empty())
}

/// One line of printable characters, short: a name from the environment must not forge the
/// entry's structure.
fn clean(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_is_named_from_passwd_or_by_number() {
        let p = "root:x:0:0:root:/root:/bin/bash\n# note\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(user_in_passwd(p, 0).as_deref(), Some("root"));
        assert_eq!(user_in_passwd(p, 1000).as_deref(), Some("alice"));
        assert_eq!(user_in_passwd(p, 7), None);
    }

    #[test]
    fn a_claimed_actor_stands_beside_the_os_user() {
        let a = audit_actor(Some(" 李四\n"));
        assert!(a.starts_with("cli:") && a.ends_with(" as 李四"), "{a}");
        assert!(!audit_actor(None).contains(" as "));
    }
}
