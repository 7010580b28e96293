"""Password hashing: Argon2id at OWASP's setting; werkzeug's older hashes still verify."""

from werkzeug.security import generate_password_hash

from eventmate.auth import hashing


def test_hashes_are_argon2id_at_owasps_setting_and_verify():
    password_hash = hashing.hash_password("correct horse battery")
    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hashing.password_matches(password_hash, "correct horse battery")
    assert not hashing.password_matches(password_hash, "wrong horse battery")
    assert not hashing.needs_rehash(password_hash)


def test_an_older_werkzeug_hash_verifies_and_asks_to_be_replaced():
    old = generate_password_hash("correct horse battery", method="pbkdf2:sha256:1000")
    assert hashing.password_matches(old, "correct horse battery")
    assert not hashing.password_matches(old, "wrong horse battery")
    assert hashing.needs_rehash(old)
    assert not hashing.password_matches("not a hash", "correct horse battery")
