from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from grid.scope import user_scope


@login_required
def home(request):
    areas = user_scope(request.user).areas().current().filter(level__lte=2)
    return render(request, "maps/home.html", {"areas": areas})
