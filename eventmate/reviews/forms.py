from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from eventmate.forms import Form
from eventmate.reviews.services import MAX_REVIEW_LENGTH


class ReviewForm(Form):
    rating = RadioField(
        "Your rating",
        choices=[SelectChoice(str(n), f"{n} star{'s' if n > 1 else ''}") for n in range(5, 0, -1)],
        validators=[InputRequired(message="Choose a rating from 1 to 5 stars.")],
    )
    body = TextAreaField(
        "Your review",
        validators=[
            Length(max=MAX_REVIEW_LENGTH, message=f"Keep it under {MAX_REVIEW_LENGTH} characters.")
        ],
    )


class DeleteReviewForm(Form):
    """Deleting changes state: a POST with a CSRF token."""
