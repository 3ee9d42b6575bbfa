//! libpq's password file (`PGPASSFILE`, default `~/.pgpass`): the password for a host, port,
//! database and user when neither the URL nor PGPASSWORD gives one.

/// The password for (host, port, database, user) from a libpq password file
/// (`host:port:database:username:password` lines, `*` matches anything, `\:` and `\\`
/// escape). Like libpq, a file that group or others can read is ignored (with a warning),
/// and a socket directory matches the host name `localhost`.
pub fn password(file: &std::path::Path, host: &str, port: &str, dbname: &str, user: &str) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access and is ignored; run chmod 600 on it",
                file.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let host = if host.starts_with('/') { "localhost" } else { host };
    text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).find_map(|line| {
        let fields = split_passfile_line(line);
        let [h, p, d, u, pw] = <[String; 5]>::try_from(fields).ok()?;
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        (matches(&h, host) && matches(&p, port) && matches(&d, dbname) && matches(&u, user)).then_some(pw)
    })
}

/// Splits a password-file line on unescaped colons, removing the escapes.
fn split_passfile_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}
