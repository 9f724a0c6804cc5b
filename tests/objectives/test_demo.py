from apps.accounts.roles import Role
from apps.objectives import demo
from apps.objectives.models import Measurement, Performance, QualityObjective


def test_demo_loads_computed_and_manual_objectives_and_is_idempotent(quality_manager, staff):
    users = {Role.QUALITY_MANAGER: quality_manager, Role.STAFF: staff}
    demo.load(users)
    count, measurements = QualityObjective.objects.count(), Measurement.objects.count()
    demo.load(users)
    assert QualityObjective.objects.count() == count == 4
    assert Measurement.objects.count() == measurements
    assert set(QualityObjective.objects.values_list("kpi", flat=True)) >= {"nps", "sla_compliance", ""}
    delivery = QualityObjective.objects.get(kpi_kind="manual")
    assert delivery.measurements.count() == len(demo.DELIVERY_FIGURES)
    assert delivery.performance == Performance.OFF_TRACK
    assert delivery.action_proposed
    nps = QualityObjective.objects.get(kpi="nps")
    assert nps.measurements.count() >= 6
