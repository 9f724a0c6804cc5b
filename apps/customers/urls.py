from django.urls import path

from apps.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="customer_list"),
    path("new/", views.CustomerCreateView.as_view(), name="customer_create"),
    path("import/", views.CustomerImportView.as_view(), name="customer_import"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="customer_detail"),
    path("<int:pk>/edit/", views.CustomerUpdateView.as_view(), name="customer_update"),
    path("<int:customer_pk>/contacts/new/", views.ContactCreateView.as_view(), name="contact_create"),
    path("contacts/<int:pk>/edit/", views.ContactUpdateView.as_view(), name="contact_update"),
    path("contacts/<int:pk>/erase/", views.ContactEraseView.as_view(), name="contact_erase"),
    path("contacts/<int:pk>/export.json", views.ContactExportView.as_view(), name="contact_export"),
    path("<int:customer_pk>/interactions/new/", views.InteractionCreateView.as_view(), name="interaction_create"),
    path("follow-ups/<int:pk>/done/", views.FollowUpCompleteView.as_view(), name="follow_up_complete"),
    path("products/", views.ProductListView.as_view(), name="product_list"),
    path("products/new/", views.ProductCreateView.as_view(), name="product_create"),
    path("products/<int:pk>/edit/", views.ProductUpdateView.as_view(), name="product_update"),
]
