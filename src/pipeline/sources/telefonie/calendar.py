"""When the contact centre takes calls: weekdays (14 030 Mon, Tue, Thu 9-17; Wed, Fri 9-13), except
the days the municipality is closed."""

from pipeline.core.calendar import DeliveryCalendar

CALENDAR = DeliveryCalendar(open_weekdays=(0, 1, 2, 3, 4))
