from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, ListView

from apps.accounts import services
from apps.accounts.forms import PasswordResetRequestForm, SignInForm, UserCreateForm, UserUpdateForm
from apps.accounts.models import ApiToken, User
from apps.audit.models import AuditEntry
from apps.audit.selectors import history_for
from apps.core.crypto import blind_index
from apps.core.exceptions import BusinessRuleViolation
from apps.core.public import rate_limited, too_many_requests


class LoginView(auth_views.LoginView):
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        services.user_record_sign_in(user=form.get_user())
        return response

    def form_invalid(self, form):
        email = form.data.get("username", "")
        if email:
            services.user_record_failed_sign_in(email=email)
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.user_record_sign_in(user=request.user, action=AuditEntry.Action.LOGOUT)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            services.user_password_changed(user=self.request.user)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for a reset link. Limited per client address and per address asked for (in the
    sign-in identifier's spelling, so capitals or full-width letters share one limit).

    Over the client's limit: a 429 page, the same for every address, so it tells nothing about
    accounts, and a person behind it learns to wait rather than for an e-mail. Over the
    address's limit: the usual "if an account exists, we sent a link" page and no e-mail, so
    whoever floods one mailbox from many clients learns nothing from it either.
    """

    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        request, window = self.request, settings.PASSWORD_RESET_RATE_WINDOW_SECONDS
        limit = settings.PASSWORD_RESET_RATE_LIMIT_PER_CLIENT
        if rate_limited(request, scope="password-reset:client", limit=limit, window_seconds=window):
            return too_many_requests(request)
        email = form.cleaned_data["email"]
        over = rate_limited(
            request,
            scope="password-reset:address",
            key=blind_index(email),
            limit=settings.PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS,
            window_seconds=window,
        )
        services.user_request_password_reset(email=email, deliver=not over)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            services.user_password_changed(user=form.user, reset=True)
        return response


# A person rarely holds more; the API lists them all.
TOKENS_SHOWN = 50


class ApiTokenListView(LoginRequiredMixin, ListView):
    """The signed-in user's own API tokens, with a button to revoke each."""

    template_name = "accounts/apitoken_list.html"
    context_object_name = "tokens"
    paginate_by = TOKENS_SHOWN

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, lifetime_days=settings.API_TOKEN_LIFETIME_DAYS)


class ApiTokenRevokeView(LoginRequiredMixin, View):
    """Revoke a token: one's own, or anyone's for a quality manager (POST only). Another
    person's token is 404 to whoever may not see it, 403 to an auditor who may."""

    http_method_names = ["post"]

    def post(self, request, pk):
        token = get_object_or_404(ApiToken.objects.visible_to(request.user), pk=pk)
        own = token.user_id == request.user.pk
        if not own and not request.user.has_perm("accounts.revoke_apitoken"):
            raise PermissionDenied
        services.api_token_revoke(token_id=token.pk, actor=request.user)
        messages.success(request, _("Token %(prefix)s revoked.") % {"prefix": token.display})
        if own:
            return redirect("accounts:token_list")
        return redirect("accounts:user_detail", pk=token.user_id)


class UserListView(PermissionRequiredMixin, ListView):
    permission_required = "accounts.view_user"
    template_name = "accounts/user_list.html"
    paginate_by = 50

    def get_queryset(self):
        return User.objects.prefetch_related("groups").order_by("-is_active", "full_name", "id")


class UserCreateView(PermissionRequiredMixin, FormView):
    permission_required = "accounts.add_user"
    template_name = "accounts/user_form.html"
    form_class = UserCreateForm

    def form_valid(self, form):
        try:
            user = services.user_create(**form.cleaned_data, actor=self.request.user)
        except BusinessRuleViolation as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(self.request, _("User created; an invitation to set a password was e-mailed."))
        return redirect("accounts:user_detail", pk=user.pk)


class UserDetailView(PermissionRequiredMixin, FormView):
    """A user's account and history; quality managers also change role and status here."""

    permission_required = "accounts.view_user"
    template_name = "accounts/user_detail.html"
    form_class = UserUpdateForm

    def dispatch(self, request, *args, **kwargs):
        self.object = get_object_or_404(User.objects.prefetch_related("groups"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {
            "full_name": self.object.full_name,
            "role": self.object.role,
            "is_active": self.object.is_active,
            "capabilities": sorted(services.user_capabilities(self.object)),
            "access_until": services.last_day_of_access(self.object),
            "clause_scope": self.object.clause_scope,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["account"] = self.object
        context["can_change"] = self.request.user.has_perm("accounts.change_user")
        context["history"] = history_for(self.object)
        context["tokens"] = ApiToken.objects.filter(user=self.object)[:TOKENS_SHOWN]
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("accounts.change_user"):
            return self.handle_no_permission()
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            with transaction.atomic():
                services.user_update_profile(
                    user_id=self.object.pk, full_name=data["full_name"], actor=self.request.user
                )
                services.user_set_role(
                    user_id=self.object.pk, role=data["role"], actor=self.request.user, reason=data["reason"]
                )
                services.user_set_active(
                    user_id=self.object.pk, active=data["is_active"], actor=self.request.user, reason=data["reason"]
                )
                services.user_set_access(
                    user_id=self.object.pk,
                    access_until=data["access_until"],
                    clause_scope=data["clause_scope"],
                    actor=self.request.user,
                    reason=data["reason"],
                )
                if "capabilities" in data:
                    services.user_set_capabilities(
                        user_id=self.object.pk,
                        permissions=set(data["capabilities"]),
                        actor=self.request.user,
                        reason=data["reason"],
                    )
        except BusinessRuleViolation as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(self.request, _("Changes saved."))
        return redirect(reverse("accounts:user_detail", kwargs={"pk": self.object.pk}))
