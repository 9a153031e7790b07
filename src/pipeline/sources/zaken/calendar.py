"""When cases are completed: on weekdays (documents are delivered and births registered by staff),
except the days the municipality is closed."""

from pipeline.core.calendar import DeliveryCalendar

CALENDAR = DeliveryCalendar(open_weekdays=(0, 1, 2, 3, 4))
