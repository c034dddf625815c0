def test_sample_article_embeds_the_appeal_with_the_publisher_tag(client):
    response = client.get("/demo/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<script src="/embed.js" async' in html
    assert 'data-section="local"' in html
    assert "data-sensitive" not in html


def test_sample_article_can_be_flagged_sensitive(client):
    html = client.get("/demo/?sensitive=1").content.decode()

    assert 'data-sensitive="true"' in html
