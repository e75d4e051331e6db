"""manage.py replay_dead_letters: publishes dead-lettered task messages again."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integrations.services_dead_letters import dead_letters_replay


class Command(BaseCommand):
    help = (
        "Replays dead letters: the given --id(s), or --all not replayed yet; --task limits either "
        "to one task name. Messages still waiting in the RabbitMQ dead_letters queue are drained first."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", dest="ids", type=int, action="append", help="Dead letter id (repeatable).")
        which.add_argument("--all", action="store_true", help="Every dead letter not replayed yet.")
        parser.add_argument("--task", help="Only dead letters of this task name.")

    def handle(self, *args, ids=None, all=False, task=None, **options):
        if ids is not None and any(pk < 1 for pk in ids):
            raise CommandError("Dead letter ids are positive integers.")
        result = dead_letters_replay(ids=ids if not all else None, task_name=task)
        for pk in result["replayed"]:
            self.stdout.write(f"replayed {pk}")
        for pk in result["skipped"]:
            self.stdout.write(f"skipped {pk} (replayed already or message not captured)")
        if ids is not None:
            missing = sorted(set(ids) - set(result["replayed"]) - set(result["skipped"]))
            for pk in missing:
                self.stderr.write(f"no dead letter {pk}")
        self.stdout.write(
            self.style.SUCCESS(f"{len(result['replayed'])} replayed, {len(result['skipped'])} skipped")
        )
        if ids is not None and missing:
            raise CommandError(f"{len(missing)} dead letter id(s) not found")
