"""Password hashing: Argon2id at OWASP's minimum recommended parameters
(19 MiB memory, 2 iterations, 1 lane), which verify in about 25 ms here; Django's default
Argon2 parameters are lighter in time but heavier in memory per request."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class KGLabArgon2PasswordHasher(Argon2PasswordHasher):
    algorithm = "argon2"  # same encoded format: hashes stay readable by Django's own hasher
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
