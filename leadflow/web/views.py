from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render


@login_required
def home(request):
    return redirect("lead_list")


@login_required
def lead_list(request):
    return render(request, "web/lead_list.html", {})
