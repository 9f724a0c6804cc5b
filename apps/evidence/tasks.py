from celery import shared_task

from apps.evidence import services


@shared_task(name="evidence.verify_integrity", acks_late=True)
def verify_integrity_task(check_id: int) -> str | None:
    """Verify the audit chain for one requested check (nothing if it already ran)."""
    check = services.integrity_check_run(check_id=check_id)
    return check.status if check else None


@shared_task(name="evidence.build_pack", acks_late=True)
def build_pack_task(pack_id: int) -> str | None:
    """Build one requested evidence pack (nothing if another run has it or it is done)."""
    pack = services.pack_build(pack_id=pack_id)
    return pack.status if pack else None


@shared_task(name="evidence.sweep_packs")
def sweep_packs_task() -> dict[str, int]:
    """Every five minutes: re-queue lost or stalled builds; delete packs past retention."""
    return services.sweep_packs()
