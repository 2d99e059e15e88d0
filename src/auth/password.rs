//! Password hashing (argon2id) and the password policy.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::AuthError;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

/// Passwords people pick first; kept short on purpose, the length rule does most of the work.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "a123456789",
    "a1234567890",
    "0123456789",
    "9876543210",
    "1111111111",
    "0000000000",
    "1234512345",
    "1qaz2wsx3edc",
    "1q2w3e4r5t",
    "qwertyuiop",
    "qwerty1234",
    "qwerty123456",
    "asdfghjkl1",
    "zxcvbnm123",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "p@ssw0rd123",
    "admin12345",
    "admin123456",
    "administrator",
    "abc1234567",
    "abcd123456",
    "abcdefghij",
    "iloveyou12",
    "woaini1314",
    "woaini520520",
    "5201314520",
    "1314520520",
    "aa123456789",
    "qq123456789",
    "changeme123",
    "welcome123",
    "letmein1234",
    "govbox12345",
    "zhengfu1234",
    "huawei12345",
    "test123456",
    "root123456",
    "Aa123456789",
    "Admin@12345",
    "Admin@123456",
    "P@ssw0rd123",
    "Qwer1234!@#$",
];

/// Checks the policy; the error says which rule failed so the person can fix it at once.
pub fn check_policy(username: &str, password: &str) -> Result<(), AuthError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(AuthError::WeakPassword(format!(
            "密码至少 {MIN_LEN} 个字符（现在 {len} 个）"
        )));
    }
    if len > MAX_LEN {
        return Err(AuthError::WeakPassword(format!(
            "密码最多 {MAX_LEN} 个字符"
        )));
    }
    let lower = password.to_lowercase();
    if lower.contains(&username.to_lowercase()) && !username.is_empty() {
        return Err(AuthError::WeakPassword("密码不能包含用户名".into()));
    }
    if COMMON.iter().any(|c| c.eq_ignore_ascii_case(password)) {
        return Err(AuthError::WeakPassword("这是常见密码，请换一个".into()));
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return Err(AuthError::WeakPassword(
            "密码不能由同一个字符重复组成".into(),
        ));
    }
    Ok(())
}

/// argon2id with the crate's defaults (19 MiB, 2 passes): about 50 ms on an old office PC, a
/// deliberate cost for a guesser. Call off the async runtime.
pub fn hash(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Internal(format!("argon2: {e}")))
}

pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password for generated logins: letters and digits without look-alikes.
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..14)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(check_policy("zhang", "short").is_err());
        assert!(check_policy("zhangsan", "zhangsan2026!").is_err());
        assert!(check_policy("zhang", "password123").is_err());
        assert!(check_policy("zhang", "aaaaaaaaaaaa").is_err());
        assert!(check_policy("zhang", &"x1".repeat(70)).is_err());
        assert!(check_policy("zhang", "绿水青山就是金山银山").is_ok());
        assert!(check_policy("zhang", "river-Stone-42").is_ok());
        assert!(check_policy("zhang", &generate()).is_ok());
    }

    #[test]
    fn hash_verifies_only_the_same_password() {
        let h = hash("river-Stone-42").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("river-Stone-42", &h));
        assert!(!verify("river-Stone-43", &h));
        assert!(!verify("river-Stone-42", "not a hash"));
    }
}
