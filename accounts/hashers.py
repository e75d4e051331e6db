"""Password hashing: Argon2id at OWASP's minimum recommended parameters (19 MiB memory,
2 iterations, 1 lane). Django's default Argon2 parameters use 100 MiB per hash, which would cap
concurrent logins by memory. Measured hash and verify times: docs/auth.md (bench/auth.py)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class KGLabArgon2PasswordHasher(Argon2PasswordHasher):
    algorithm = "argon2"  # same encoded format: hashes stay readable by Django's own hasher
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
