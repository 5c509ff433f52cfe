"""Debian's headless Chromium, driven by Selenium through chromium-driver, for the tests of Coffre's pages."""
import os

import pytest


def chromium(window_size="1280,900"):
    """A headless browser that trusts Coffre's pages; skips the test when Debian's chromium or selenium is missing."""
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (os.path.exists("/usr/bin/chromium") and os.path.exists("/usr/bin/chromedriver")):
        pytest.skip("Debian's chromium and chromium-driver are not installed (scripts/test installs them)")
    # Selenium looks for nothing on the network: Debian's browser and driver, named below.
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={window_size}"):
        options.add_argument(argument)
    # Coffre's pages are served with its own CA, which this browser profile does not know.
    options.accept_insecure_certs = True
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)


def follow(browser, element):
    """Clicks a link or button and waits for the next page: a click returns before the page it asked for is there
    (a sign-in hashes its password: seconds on a busy machine), so reading the page at once reads the old one."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait
    page = browser.find_element(By.TAG_NAME, "html")

    def replaced(_):
        try:
            page.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            # Asked in the middle of the navigation, chromium-driver may answer that the old page's node "does not
            # belong to the document" (an "unknown error", not a stale element): it is gone all the same.
            if "does not belong to the document" in str(error):
                return True
            raise

    element.click()
    WebDriverWait(browser, 60).until(replaced)
