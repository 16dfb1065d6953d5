"""factory-boy factories for the foundation apps."""

from __future__ import annotations

import factory

from accounts.models import Team, User
from accounts.permissions import Role
from accounts.services import user_set_role
from catalog.models import ComponentStatus, Service, ServiceGroup, Target, TargetKind

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Faker("first_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        obj.save()
        if extracted is not None:
            user_set_role(user=obj, role=Role(extracted))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class ServiceGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceGroup

    name = factory.Sequence(lambda n: f"Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    group = factory.SubFactory(ServiceGroupFactory)
    owner_team = factory.SubFactory(TeamFactory)
    status = ComponentStatus.OPERATIONAL


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Target

    service = factory.SubFactory(ServiceFactory)
    name = factory.Sequence(lambda n: f"target-{n}")
    kind = TargetKind.HTTP
    config = factory.LazyFunction(
        lambda: {
            "url": "https://example.com/health",
            "method": "GET",
            "expected_status": 200,
            "timeout_s": 5.0,
            "verify_tls": True,
        }
    )
