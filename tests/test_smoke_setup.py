from tests.factories import make_event


def test_home_lists_an_upcoming_event(client, db_session):
    make_event(title="Harbour Jazz Night")
    db_session.commit()
    response = client.get("/")
    assert response.status_code == 200
    assert b"Harbour Jazz Night" in response.data
