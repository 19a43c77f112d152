from ninja import NinjaAPI

api = NinjaAPI(title="leadflow API", version="1.0.0")
